// Timeouts for calls that nearly always answer in time, all with the same
// timeout (agent.tools: every tool call of every run).
//
// The calls wait in one list, oldest first, and one timer at a time is armed,
// for the oldest: with a single timeout, deadlines come in the order the calls
// started. An answered call leaves the list at once. (A timer per call stays
// queued for the whole timeout after its call answered — at hundreds of turns a
// second, thirty seconds of turns' timers and what they hold.)
//
// Thread-safety: every method may be called from any thread. Blocking: never;
// the actions of expired calls run on the timer's thread, outside the lock.
// Ownership: create() hands out a shared object; the armed timer holds it
// weakly (a timer firing after it is gone does nothing).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace mx::agent {

class CallDeadlines final : public std::enable_shared_from_this<CallDeadlines> {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs the task once the delay has passed (the HTTP client's runAfter).
  using Timer = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  using Ticket = uint64_t;

  // `now` stands in for the steady clock in tests.
  static std::shared_ptr<CallDeadlines> create(std::chrono::milliseconds timeout, Timer timer,
                                               std::function<Clock::time_point()> now = Clock::now);

  // Starts a call's clock: `expired` runs once its timeout has passed, unless
  // the call is stopped first.
  Ticket start(std::function<void()> expired);
  // The call answered: it leaves the list. Nothing happens for a call that
  // already expired or stopped.
  void stop(Ticket ticket);
  size_t waiting() const;

  CallDeadlines(std::chrono::milliseconds timeout, Timer timer, std::function<Clock::time_point()> now);

 private:
  struct Waiting {
    Clock::time_point due;
    std::function<void()> expired;
  };
  void arm(std::chrono::milliseconds delay);
  // The timer fired: runs the expired calls' actions and arms for the next one.
  void expire();

  const std::chrono::milliseconds timeout_;
  const Timer timer_;
  const std::function<Clock::time_point()> now_;
  mutable std::mutex mutex_;
  std::map<Ticket, Waiting> waiting_;  // tickets grow with the start time: the first is due first
  Ticket next_ = 0;
  bool armed_ = false;
};

}  // namespace mx::agent
