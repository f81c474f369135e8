// Group commit's queue (chat/save_queue.hpp): real threads, no store.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "chat/save_queue.hpp"

namespace mx::host::chat {
namespace {

// A save that records its batches and, while `hold` is set, waits inside the first one.
struct HeldSave {
  std::mutex mutex;
  std::condition_variable changed;
  bool hold = false;
  bool inside = false;
  std::vector<std::vector<int>> batches;
  std::vector<std::thread::id> threads;

  void operator()(std::vector<int>& batch) {
    std::unique_lock<std::mutex> lock(mutex);
    batches.push_back(batch);
    threads.push_back(std::this_thread::get_id());
    inside = true;
    changed.notify_all();
    changed.wait(lock, [&] { return !hold; });
    inside = false;
  }
  void waitInside() {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return inside; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex);
    hold = false;
    changed.notify_all();
  }
};

TEST(SaveQueue, ARunAloneIsSavedAtOnceOnTheCallersThread) {
  HeldSave save;
  SaveQueue<int> queue(8, [&](std::vector<int>& batch) { save(batch); });
  queue.submit(1);
  queue.submit(2);
  ASSERT_EQ(save.batches.size(), 2u);
  EXPECT_EQ(save.batches[0], std::vector<int>{1});
  EXPECT_EQ(save.batches[1], std::vector<int>{2});
  EXPECT_EQ(save.threads[0], std::this_thread::get_id());
}

TEST(SaveQueue, RunsHandedOverDuringASaveGoTogetherNextOnTheSavingThreadUpToTheMost) {
  HeldSave save;
  save.hold = true;
  SaveQueue<int> queue(3, [&](std::vector<int>& batch) { save(batch); });
  auto saver = std::async(std::launch::async, [&] {
    queue.submit(1);
    return std::this_thread::get_id();
  });
  save.waitInside();
  for (int item = 2; item <= 6; ++item) queue.submit(item);  // returns at once: a save is going on
  EXPECT_EQ(save.batches.size(), 1u);
  save.release();
  std::thread::id saving = saver.get();
  ASSERT_EQ(save.batches.size(), 3u);
  EXPECT_EQ(save.batches[1], (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(save.batches[2], (std::vector<int>{5, 6}));
  for (auto thread : save.threads) EXPECT_EQ(thread, saving);
}

// [chat] runs_per_save = 1: no group commit, each run in a call of its own, in order.
TEST(SaveQueue, WithOneRunPerSaveRunsHandedOverDuringASaveAreSavedEachAlone) {
  HeldSave save;
  save.hold = true;
  SaveQueue<int> queue(1, [&](std::vector<int>& batch) { save(batch); });
  auto saver = std::async(std::launch::async, [&] { queue.submit(1); });
  save.waitInside();
  queue.submit(2);
  queue.submit(3);
  save.release();
  saver.get();
  ASSERT_EQ(save.batches.size(), 3u);
  for (int item = 1; item <= 3; ++item) EXPECT_EQ(save.batches[item - 1], std::vector<int>{item});
}

TEST(SaveQueue, ASaveThatThrowsEndsThatSavingAndTheNextSubmitSavesWhatWaits) {
  int calls = 0;
  std::vector<std::vector<int>> saved;
  SaveQueue<int> queue(8, [&](std::vector<int>& batch) {
    if (++calls == 1) throw std::runtime_error("store gone");
    saved.push_back(batch);
  });
  EXPECT_THROW(queue.submit(1), std::runtime_error);
  queue.submit(2);  // no one is saving any more: this thread saves
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0], std::vector<int>{2});
}

TEST(SaveQueue, WithSomewhereToContinueASaveThatFindsRunsWaitingHandsThemOn) {
  HeldSave save;
  save.hold = true;
  std::vector<std::function<void()>> continued;
  std::mutex continuedMutex;
  SaveQueue<int> queue(8, [&](std::vector<int>& batch) { save(batch); }, [&](std::function<void()> rest) {
    std::lock_guard<std::mutex> lock(continuedMutex);
    continued.push_back(std::move(rest));
    return true;
  });
  auto saver = std::async(std::launch::async, [&] { queue.submit(1); });
  save.waitInside();
  queue.submit(2);
  queue.submit(3);
  save.release();
  saver.get();  // saved its batch and handed the rest on instead of saving it too
  ASSERT_EQ(save.batches.size(), 1u);
  ASSERT_EQ(continued.size(), 1u);
  queue.submit(4);  // still saving (handed on): waits with the others
  EXPECT_EQ(save.batches.size(), 1u);
  continued[0]();
  ASSERT_EQ(save.batches.size(), 2u);
  EXPECT_EQ(save.batches[1], (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(continued.size(), 1u);  // none left waiting: nothing handed on
  queue.submit(5);                  // and no one saving: saved at once
  EXPECT_EQ(save.batches.size(), 3u);
}

// At shutdown the blocking pool refuses new tasks: the saving thread saves what waits itself.
TEST(SaveQueue, WhenTheRestIsRefusedTheSavingThreadSavesItItself) {
  HeldSave save;
  save.hold = true;
  int refused = 0;
  SaveQueue<int> queue(8, [&](std::vector<int>& batch) { save(batch); }, [&](std::function<void()>) {
    ++refused;
    return false;
  });
  auto saver = std::async(std::launch::async, [&] {
    queue.submit(1);
    return std::this_thread::get_id();
  });
  save.waitInside();
  queue.submit(2);
  queue.submit(3);
  save.release();
  std::thread::id saving = saver.get();
  ASSERT_EQ(save.batches.size(), 2u);
  EXPECT_EQ(save.batches[1], (std::vector<int>{2, 3}));
  EXPECT_EQ(save.threads[1], saving);
  EXPECT_EQ(refused, 1);
  queue.submit(4);  // no one saving afterwards: saved at once
  EXPECT_EQ(save.batches.size(), 3u);
}

}  // namespace
}  // namespace mx::host::chat
