#include "http/http_server.hpp"

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

// Starts a server with the given HTTP nice value on the calling thread and
// returns what a request's handler (on a reactor) saw, and the calling
// thread's nice value after start().
struct NiceSeen {
  std::string reactor;
  int starter = 0;
  bool started = false;
};
NiceSeen serveAt(int nice, const std::shared_ptr<Logger>& logger) {
  HttpServer::Options options;
  options.port = 0;
  options.threads = 1;
  options.nice = nice;
  HttpServer server(options, logger);
  server.route(Pistache::Http::Method::Get, "/nice", [](const Pistache::Rest::Request&, Pistache::Http::ResponseWriter& response, RequestContext&) {
    response.send(Pistache::Http::Code::Ok, std::to_string(threadNice()));
  });
  NiceSeen seen;
  seen.started = server.start().isOk();
  seen.starter = threadNice();
  if (seen.started) seen.reactor = test::httpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/nice").body;
  server.stop();
  return seen;
}

// The kernel's struct sched_attr, for the calling thread's policy and slice.
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtimeNanos = 0;
  uint64_t deadline = 0;
  uint64_t period = 0;
};
SchedAttr threadSched() {
  SchedAttr attr;
  syscall(SYS_sched_getattr, 0, &attr, sizeof(attr), 0);
  return attr;
}
std::string describe(const SchedAttr& attr) {
  return "policy " + std::to_string(attr.policy) + " slice " + std::to_string(attr.runtimeNanos);
}

// Starts a server with the given HTTP slice on the calling thread; returns
// what a request's handler (on a reactor) saw and what the calling thread has
// after start().
struct SliceSeen {
  std::string reactor;
  std::string starter;
  bool started = false;
};
SliceSeen serveWithSlice(int micros, const std::shared_ptr<Logger>& logger) {
  HttpServer::Options options;
  options.port = 0;
  options.threads = 1;
  options.sliceMicros = micros;
  HttpServer server(options, logger);
  server.route(Pistache::Http::Method::Get, "/sched", [](const Pistache::Rest::Request&, Pistache::Http::ResponseWriter& response, RequestContext&) {
    response.send(Pistache::Http::Code::Ok, describe(threadSched()));
  });
  SliceSeen seen;
  seen.started = server.start().isOk();
  seen.starter = describe(threadSched());
  if (seen.started) seen.reactor = test::httpGet("http://127.0.0.1:" + std::to_string(server.port()) + "/sched").body;
  server.stop();
  return seen;
}

void setPolicy(int policy) {
  sched_param none{};
  sched_setscheduler(0, policy, &none);  // 0: the calling thread
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
  NiceSeen seen;
  int before = 0;
  std::thread starter([&] {  // a thread of its own: this one's nice stays as it is whatever happens
    before = threadNice();
    seen = serveAt(before - 3, logger);
  });
  starter.join();
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, std::to_string(before - 3));
  EXPECT_EQ(seen.starter, before);
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
  NiceSeen seen;
  int before = 0;
  std::thread starter([&] {
    ASSERT_TRUE(dropSysNice());
    before = threadNice();
    seen = serveAt(before - 3, logger);
  });
  starter.join();
  setrlimit(RLIMIT_NICE, &saved);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, std::to_string(before));
  EXPECT_EQ(seen.starter, before);
  EXPECT_TRUE(logger->contains("[server] http_nice = " + std::to_string(before - 3) + ": setpriority: Permission denied"))
      << (logger->lines().empty() ? "" : logger->lines()[0].second);
}

// In a server under SCHED_BATCH the HTTP threads take SCHED_OTHER and the
// slice; the thread that started them goes back to what it had.
TEST(HttpServerThreads, TheHttpThreadsRunUnderSchedOtherWithTheConfiguredSlice) {
  auto logger = std::make_shared<testing::RecordingLogger>();
  SliceSeen seen;
  std::string before;
  std::thread starter([&] {
    setPolicy(SCHED_BATCH);
    before = describe(threadSched());
    seen = serveWithSlice(300, logger);
  });
  starter.join();
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.starter, before);
  if (logger->contains("keeps no custom slice")) {  // a kernel before 6.12: the policy alone
    EXPECT_EQ(seen.reactor.rfind("policy " + std::to_string(SCHED_OTHER) + " ", 0), 0u) << seen.reactor;
    GTEST_SKIP() << "this kernel keeps no custom slice";
  }
  EXPECT_EQ(seen.reactor, "policy " + std::to_string(SCHED_OTHER) + " slice 300000");
  EXPECT_FALSE(logger->contains("http_slice_us"));
}

TEST(HttpServerThreads, NoSliceLeavesTheHttpThreadsAsTheirStarter) {
  auto logger = std::make_shared<testing::RecordingLogger>();
  SliceSeen seen;
  std::string before;
  std::thread starter([&] {
    setPolicy(SCHED_BATCH);
    before = describe(threadSched());
    seen = serveWithSlice(0, logger);
  });
  starter.join();
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(seen.reactor, before);
  EXPECT_EQ(seen.starter, before);
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
  SliceSeen seen;
  std::string before;
  std::thread starter([&] {
    ASSERT_TRUE(dropSysNice());
    setPolicy(SCHED_IDLE);
    before = describe(threadSched());
    seen = serveWithSlice(300, logger);
  });
  starter.join();
  setrlimit(RLIMIT_NICE, &saved);
  ASSERT_TRUE(seen.started);
  EXPECT_EQ(before.rfind("policy " + std::to_string(SCHED_IDLE) + " ", 0), 0u) << before;
  EXPECT_EQ(seen.reactor, before);
  EXPECT_TRUE(logger->contains("[server] http_slice_us = 300: sched_setattr: Operation not permitted; the HTTP threads keep "
                               "the server's policy"))
      << (logger->lines().empty() ? "" : logger->lines()[0].second);
}

}  // namespace
}  // namespace mx::host::http
