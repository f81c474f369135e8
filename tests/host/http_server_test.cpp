#include "http/http_server.hpp"
#include "http/thread_sched.hpp"

#include <gtest/gtest.h>

#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "mx/testing/fakes.hpp"
#include "http_client.hpp"

namespace mx::host::http {
namespace {

int threadNice() {
  errno = 0;
  return getpriority(PRIO_PROCESS, 0);
}

ThreadSched threadSched() {
  ThreadSched sched;
  readThreadSched(sched);
  return sched;
}
std::string niceOfThread() { return std::to_string(threadNice()); }
std::string schedOfThread() {
  ThreadSched sched = threadSched();
  return "policy " + std::to_string(sched.policy) + " slice " + std::to_string(sched.runtimeNanos);
}

// Starts a server with `options` on the calling thread and returns what
// describeThread() said there before and after start(), and on a reactor (in a
// request's handler).
struct Seen {
  std::string before;
  std::string reactor;
  std::string starter;
  bool started = false;
};
Seen serve(HttpServer::Options options, std::string (*describeThread)(), const std::shared_ptr<Logger>& logger) {
  options.port = 0;
  options.threads = 1;
  HttpServer server(options, logger);
  server.route(Pistache::Http::Method::Get, "/thread", [describeThread](const Pistache::Rest::Request&, Pistache::Http::ResponseWriter& response, RequestContext&) {
    response.send(Pistache::Http::Code::Ok, describeThread());
  });
  Seen seen;
  seen.before = describeThread();
  seen.started = server.start().isOk();
  seen.starter = describeThread();
  if (seen.started) seen.reactor = test::httpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/thread").body;
  server.stop();
  return seen;
}
HttpServer::Options withNice(int nice) {
  HttpServer::Options options;
  options.nice = nice;
  return options;
}
HttpServer::Options withSlice(int micros) {
  HttpServer::Options options;
  options.sliceMicros = micros;
  return options;
}

void setPolicy(int policy) {
  sched_param none{};
  sched_setscheduler(0, policy, &none);  // 0: the calling thread
}

bool dropSysNice();

// A server with the slice started from a thread of its own under `policy`
// (without CAP_SYS_NICE when asked), so that this thread's scheduling stays as it is.
Seen serveFromThreadUnder(int policy, int micros, const std::shared_ptr<Logger>& logger, bool withoutSysNice = false) {
  Seen seen;
  std::thread starter([&] {
    if (withoutSysNice && !dropSysNice()) return;
    setPolicy(policy);
    seen = serve(withSlice(micros), schedOfThread, logger);
  });
  starter.join();
  return seen;
}

// Whether this process may lower a thread's nice value (root, CAP_SYS_NICE).
bool mayLowerNice() {
  bool may = false;
  std::thread probe([&] {
    may = setpriority(PRIO_PROCESS, 0, threadNice() - 1) == 0;
  });
  probe.join();
  return may;
}

// Takes CAP_SYS_NICE out of the calling thread's effective capabilities
// (capabilities are a thread's), as in an unprivileged container.
bool dropSysNice() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
  return syscall(SYS_capset, &header, data) == 0;
}

TEST(HttpServerThreads, TheHttpThreadsRunAtTheConfiguredNiceAndTheStarterKeepsItsOwn) {
  if (!mayLowerNice()) GTEST_SKIP() << "this process may not lower a nice value (no CAP_SYS_NICE)";
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen;
  int before = 0;
  std::thread starter([&] {  // a thread of its own: this one's nice stays as it is whatever happens
    before = threadNice();
    seen = serve(withNice(before - 3), niceOfThread, logger);
  });
  starter.join();
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, std::to_string(before - 3));
  EXPECT_EQ(seen.starter, std::to_string(before));
  EXPECT_FALSE(logger->contains("http_nice"));
}

// Without the privilege the server still starts, at the caller's nice, and says why.
TEST(HttpServerThreads, ANiceTheProcessMayNotSetIsAWarningNotAFailure) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NICE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = 0;  // no lowering without CAP_SYS_NICE
  ASSERT_EQ(setrlimit(RLIMIT_NICE, &none), 0);
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen;
  int before = 0;
  std::thread starter([&] {
    ASSERT_TRUE(dropSysNice());
    before = threadNice();
    seen = serve(withNice(before - 3), niceOfThread, logger);
  });
  starter.join();
  setrlimit(RLIMIT_NICE, &saved);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, std::to_string(before));
  EXPECT_EQ(seen.starter, std::to_string(before));
  EXPECT_TRUE(logger->contains("[server] http_nice = " + std::to_string(before - 3) + ": setpriority: Permission denied"))
      << (logger->lines().empty() ? "" : logger->lines()[0].second);
}

// In a server under SCHED_BATCH the HTTP threads take SCHED_OTHER and the
// slice; the thread that started them goes back to what it had.
TEST(HttpServerThreads, TheHttpThreadsRunUnderSchedOtherWithTheConfiguredSlice) {
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen = serveFromThreadUnder(SCHED_BATCH, 300, logger);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.starter, seen.before);
  if (logger->contains("keeps no custom slice")) {  // a kernel before 6.12: the policy alone
    EXPECT_EQ(seen.reactor.rfind("policy " + std::to_string(SCHED_OTHER) + " ", 0), 0u) << seen.reactor;
    GTEST_SKIP() << "this kernel keeps no custom slice";
  }
  EXPECT_EQ(seen.reactor, "policy " + std::to_string(SCHED_OTHER) + " slice 300000");
  EXPECT_FALSE(logger->contains("http_slice_us"));
}

TEST(HttpServerThreads, NoSliceLeavesTheHttpThreadsAsTheirStarter) {
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen = serveFromThreadUnder(SCHED_BATCH, 0, logger);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.before.rfind("policy " + std::to_string(SCHED_BATCH) + " ", 0), 0u) << seen.before;
  EXPECT_EQ(seen.reactor, seen.before);
  EXPECT_EQ(seen.starter, seen.before);
  EXPECT_FALSE(logger->contains("http_slice_us"));
}

// A thread under SCHED_IDLE may leave it only as far as RLIMIT_NICE allows:
// without the privilege the kernel refuses, and the server starts anyway and
// says why.
TEST(HttpServerThreads, ASliceTheKernelRefusesIsAWarningNotAFailure) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NICE, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = 0;
  ASSERT_EQ(setrlimit(RLIMIT_NICE, &none), 0);
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen = serveFromThreadUnder(SCHED_IDLE, 300, logger, /*withoutSysNice=*/true);
  setrlimit(RLIMIT_NICE, &saved);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.before.rfind("policy " + std::to_string(SCHED_IDLE) + " ", 0), 0u) << seen.before;
  EXPECT_EQ(seen.reactor, seen.before);
  EXPECT_TRUE(logger->contains("[server] http_slice_us = 300: sched_setattr: Operation not permitted; the HTTP threads keep "
                               "the server's policy"))
      << (logger->lines().empty() ? "" : logger->lines()[0].second);
}

std::string policyAndPriorityOfThread() {
  ThreadSched sched = threadSched();
  return "policy " + std::to_string(sched.policy) + " priority " + std::to_string(sched.priority);
}
HttpServer::Options withRealtime(int priority) {
  HttpServer::Options options;
  options.sliceMicros = 300;  // as production sets it: the real-time policy goes over it
  options.realtimePriority = priority;
  return options;
}

// Whether this process may put a thread under SCHED_FIFO (root, CAP_SYS_NICE, RLIMIT_RTPRIO).
bool mayUseRealtime() {
  bool may = false;
  std::thread probe([&] {
    sched_param one{};
    one.sched_priority = 1;
    may = sched_setscheduler(0, SCHED_FIFO, &one) == 0;
  });
  probe.join();
  return may;
}

TEST(HttpServerThreads, TheHttpThreadsRunUnderSchedFifoAtTheConfiguredPriorityAndTheStarterKeepsItsOwn) {
  if (!mayUseRealtime()) GTEST_SKIP() << "this process may not use SCHED_FIFO (no CAP_SYS_NICE)";
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen;
  std::thread starter([&] {
    setPolicy(SCHED_BATCH);
    seen = serve(withRealtime(3), policyAndPriorityOfThread, logger);
  });
  starter.join();
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, "policy " + std::to_string(SCHED_FIFO) + " priority 3");
  EXPECT_EQ(seen.starter, seen.before);
  EXPECT_EQ(seen.before, "policy " + std::to_string(SCHED_BATCH) + " priority 0");
  EXPECT_FALSE(logger->contains("http_realtime_priority"));
}

// Without the privilege the server still starts, the threads as the slice makes them, and says why.
TEST(HttpServerThreads, ARealtimePriorityTheProcessMayNotSetIsAWarningNotAFailure) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_RTPRIO, &saved), 0);
  rlimit none = saved;
  none.rlim_cur = 0;  // no real-time priority without CAP_SYS_NICE
  ASSERT_EQ(setrlimit(RLIMIT_RTPRIO, &none), 0);
  auto logger = std::make_shared<testing::RecordingLogger>();
  Seen seen;
  std::thread starter([&] {
    ASSERT_TRUE(dropSysNice());
    seen = serve(withRealtime(3), policyAndPriorityOfThread, logger);
  });
  starter.join();
  setrlimit(RLIMIT_RTPRIO, &saved);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, "policy " + std::to_string(SCHED_OTHER) + " priority 0");
  EXPECT_EQ(seen.starter, seen.before);
  EXPECT_TRUE(logger->contains("[server] http_realtime_priority = 3: sched_setattr: Operation not permitted; the HTTP threads keep "
                               "their policy (SCHED_FIFO needs CAP_SYS_NICE or RLIMIT_RTPRIO)"))
      << (logger->lines().empty() ? "" : logger->lines()[0].second);
}

}  // namespace
}  // namespace mx::host::http
