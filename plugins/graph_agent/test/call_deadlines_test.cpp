#include "call_deadlines.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mx::agent {
namespace {

using namespace std::chrono_literals;

// A timer the test fires by hand, on a clock the test moves.
struct ManualTime {
  CallDeadlines::Clock::time_point now{};
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> armed;

  std::shared_ptr<CallDeadlines> deadlines(std::chrono::milliseconds timeout) {
    return CallDeadlines::create(
        timeout, [this](std::chrono::milliseconds delay, std::function<void()> task) { armed.emplace_back(delay, std::move(task)); },
        [this] { return now; });
  }
  // Moves the clock by the oldest armed timer's delay and fires it.
  void fireOldest() {
    ASSERT_FALSE(armed.empty());
    auto [delay, task] = std::move(armed.front());
    armed.erase(armed.begin());
    now += delay;
    task();
  }
};

TEST(CallDeadlines, CallsThatAnswerLeaveAtOnceUnderOneTimer) {
  ManualTime time;
  auto deadlines = time.deadlines(30s);
  int expired = 0;
  for (int i = 0; i < 100; ++i) {
    auto ticket = deadlines->start([&] { ++expired; });
    time.now += 10ms;
    deadlines->stop(ticket);
  }
  EXPECT_EQ(deadlines->waiting(), 0u);
  ASSERT_EQ(time.armed.size(), 1u) << "one timer for every call";
  EXPECT_EQ(time.armed[0].first, 30s);
  time.fireOldest();  // nothing is waiting: nothing expires, nothing is armed
  EXPECT_EQ(expired, 0);
  EXPECT_TRUE(time.armed.empty());
  deadlines->start([&] { ++expired; });  // the next call arms again
  EXPECT_EQ(time.armed.size(), 1u);
}

TEST(CallDeadlines, OnlyTheCallsPastTheirTimeoutExpireAndTheTimerFollowsTheNext) {
  ManualTime time;
  auto deadlines = time.deadlines(100ms);
  std::vector<std::string> expired;
  deadlines->start([&] { expired.push_back("a"); });
  time.now += 40ms;
  auto b = deadlines->start([&] { expired.push_back("b"); });
  time.now += 20ms;
  deadlines->start([&] { expired.push_back("c"); });
  time.now = {};  // the timer armed with a's start: due at 100 ms
  time.fireOldest();
  EXPECT_EQ(expired, std::vector<std::string>{"a"});
  ASSERT_EQ(time.armed.size(), 1u);
  EXPECT_EQ(time.armed[0].first, 40ms) << "armed again for b, due at 140 ms";
  deadlines->stop(b);  // b answers in time
  time.fireOldest();   // 140 ms: c is not due before 160
  EXPECT_EQ(expired, std::vector<std::string>{"a"});
  ASSERT_EQ(time.armed.size(), 1u);
  EXPECT_EQ(time.armed[0].first, 20ms);
  time.fireOldest();
  EXPECT_EQ(expired, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(deadlines->waiting(), 0u);
  EXPECT_TRUE(time.armed.empty());
}

TEST(CallDeadlines, StoppingAnExpiredCallOrOneTwiceDoesNothing) {
  ManualTime time;
  auto deadlines = time.deadlines(10ms);
  int expired = 0;
  auto ticket = deadlines->start([&] { ++expired; });
  time.fireOldest();
  EXPECT_EQ(expired, 1);
  deadlines->stop(ticket);
  deadlines->stop(ticket);
  EXPECT_EQ(deadlines->waiting(), 0u);
  EXPECT_EQ(expired, 1);
}

TEST(CallDeadlines, ATimerThatFiresAfterTheDeadlinesAreGoneDoesNothing) {
  ManualTime time;
  int expired = 0;
  auto deadlines = time.deadlines(10ms);
  deadlines->start([&] { ++expired; });
  deadlines.reset();
  time.fireOldest();
  EXPECT_EQ(expired, 0);
}

// An expired call's action may start another call (a retry): it runs outside the lock.
TEST(CallDeadlines, AnExpiredActionMayStartAnotherCall) {
  ManualTime time;
  auto deadlines = time.deadlines(10ms);
  int expired = 0;
  deadlines->start([&] {
    ++expired;
    deadlines->start([&] { ++expired; });
  });
  time.fireOldest();
  EXPECT_EQ(deadlines->waiting(), 1u);
  ASSERT_EQ(time.armed.size(), 1u);
  time.fireOldest();
  EXPECT_EQ(expired, 2);
}

}  // namespace
}  // namespace mx::agent
