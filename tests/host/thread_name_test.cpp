// Thread names (runtime/thread_name.hpp): a pool's workers are named after
// the pool and their index, and names longer than Linux keeps are cut at the
// prefix, never at the index.
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "runtime/thread_name.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {
namespace {

TEST(ThreadName, APoolsWorkersAreNamedAfterThePoolAndTheirIndex) {
  WorkerPool pool(2, /*acceptsHelp=*/false, "mx-test");
  std::mutex mutex;
  std::set<std::string> names;
  std::promise<void> bothRunning;
  std::shared_future<void> release = bothRunning.get_future().share();
  std::promise<void> firstIn, secondIn;
  // Each task waits until both have started, so the two run on different workers.
  pool.post([&] {
    { std::lock_guard<std::mutex> lock(mutex); names.insert(thisThreadsName()); }
    firstIn.set_value();
    release.wait();
  });
  pool.post([&] {
    { std::lock_guard<std::mutex> lock(mutex); names.insert(thisThreadsName()); }
    secondIn.set_value();
    release.wait();
  });
  firstIn.get_future().wait();
  secondIn.get_future().wait();
  bothRunning.set_value();
  pool.stop();
  EXPECT_EQ(names, (std::set<std::string>{"mx-test-0", "mx-test-1"}));
}

TEST(ThreadName, ALongPrefixIsCutAndTheIndexKept) {
  EXPECT_EQ(nameOf("mx-blocking", 3), "mx-blocking-3");
  EXPECT_EQ(nameOf("abcdefghijklmnopq", 12), "abcdefghijkl-12");
  EXPECT_EQ(nameOf("abcdefghijklmnopq", 123).size(), kMostThreadNameChars);
}

TEST(ThreadName, ALongNameIsCutToWhatLinuxKeeps) {
  std::string seen;
  std::thread([&] {
    nameThisThread("mx-a-name-longer-than-fifteen");
    seen = thisThreadsName();
  }).join();
  EXPECT_EQ(seen, "mx-a-name-longe");
}

}  // namespace
}  // namespace mx::host
