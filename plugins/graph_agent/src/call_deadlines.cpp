#include "call_deadlines.hpp"

#include <vector>

namespace mx::agent {

std::shared_ptr<CallDeadlines> CallDeadlines::create(std::chrono::milliseconds timeout, Timer timer,
                                                     std::function<Clock::time_point()> now) {
  return std::make_shared<CallDeadlines>(timeout, std::move(timer), std::move(now));
}

CallDeadlines::CallDeadlines(std::chrono::milliseconds timeout, Timer timer, std::function<Clock::time_point()> now)
    : timeout_(timeout), timer_(std::move(timer)), now_(std::move(now)) {}

CallDeadlines::Ticket CallDeadlines::start(std::function<void()> expired) {
  Ticket ticket;
  bool arming;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ticket = next_++;
    waiting_.emplace(ticket, Waiting{now_() + timeout_, std::move(expired)});
    arming = !armed_;
    armed_ = true;
  }
  if (arming) arm(timeout_);
  return ticket;
}

void CallDeadlines::stop(Ticket ticket) {
  std::function<void()> dropped;  // destroyed outside the lock: it may hold the call
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = waiting_.find(ticket);
  if (it == waiting_.end()) return;
  dropped = std::move(it->second.expired);
  waiting_.erase(it);
}

size_t CallDeadlines::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_.size();
}

void CallDeadlines::arm(std::chrono::milliseconds delay) {
  timer_(delay, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->expire();
  });
}

void CallDeadlines::expire() {
  std::vector<std::function<void()>> expired;
  std::chrono::milliseconds next{0};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto now = now_();
    while (!waiting_.empty() && waiting_.begin()->second.due <= now) {
      expired.push_back(std::move(waiting_.begin()->second.expired));
      waiting_.erase(waiting_.begin());
    }
    armed_ = !waiting_.empty();
    // Rounded up: a timer due a fraction of a millisecond early would find nothing due and arm again.
    if (armed_) next = std::chrono::ceil<std::chrono::milliseconds>(waiting_.begin()->second.due - now);
  }
  if (next.count() > 0) arm(next);
  for (auto& action : expired) action();
}

}  // namespace mx::agent
