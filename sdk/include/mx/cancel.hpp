// mx/cancel.hpp — cooperative cancellation.
//
// What: a `CancellationSource` owned by whoever may cancel (a run, an HTTP
// stream); `CancellationToken`s handed to the work. Work either polls
// `isCancelled()` or registers a callback with `onCancel()`; the callback runs
// once, on the thread that calls `cancel()` (or immediately, on the registering
// thread, if already cancelled). Dropping the returned `Subscription`
// unregisters the callback; after the Subscription's destructor returns, the
// callback is not running and will never run.
// Thread-safety: every method may be called from any thread.
// Ownership: tokens share state with their source; a token outlives its source
// safely (it then reports whatever state the source had).
// Blocking: `cancel()` runs callbacks synchronously — callbacks must be short and
// must not block (e.g. mark a flag, wake an event loop). A Subscription's
// destructor waits for a callback that is running on another thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mx {

namespace detail {
struct CancelState {
  std::atomic<bool> cancelled{false};
  std::mutex mutex;
  std::string reason;
  uint64_t nextId = 1;
  std::map<uint64_t, std::function<void()>> callbacks;
  uint64_t runningId = 0;                  // callback being run by cancel(), 0 if none
  std::thread::id runningThread;
};
}  // namespace detail

class Subscription {
 public:
  Subscription() = default;
  Subscription(std::shared_ptr<detail::CancelState> state, uint64_t id)
      : state_(std::move(state)), id_(id) {}
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  Subscription(Subscription&& other) noexcept { *this = std::move(other); }
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      reset();
      state_ = std::move(other.state_);
      id_ = other.id_;
      other.id_ = 0;
    }
    return *this;
  }
  ~Subscription() { reset(); }

  void reset() {
    if (!state_ || id_ == 0) {
      return;
    }
    for (;;) {
      std::unique_lock<std::mutex> lock(state_->mutex);
      state_->callbacks.erase(id_);
      bool runningElsewhere = state_->runningId == id_ &&
                              state_->runningThread != std::this_thread::get_id();
      if (!runningElsewhere) {
        break;
      }
      lock.unlock();
      std::this_thread::yield();
    }
    state_.reset();
    id_ = 0;
  }

 private:
  std::shared_ptr<detail::CancelState> state_;
  uint64_t id_ = 0;
};

class CancellationToken {
 public:
  CancellationToken() = default;  // never cancelled
  explicit CancellationToken(std::shared_ptr<detail::CancelState> state) : state_(std::move(state)) {}

  bool isCancelled() const { return state_ && state_->cancelled.load(std::memory_order_acquire); }

  std::string reason() const {
    if (!state_) {
      return {};
    }
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->reason;
  }

  [[nodiscard]] Subscription onCancel(std::function<void()> callback) const {
    if (!state_) {
      return {};
    }
    std::unique_lock<std::mutex> lock(state_->mutex);
    if (state_->cancelled.load(std::memory_order_acquire)) {
      lock.unlock();
      callback();
      return {};
    }
    uint64_t id = state_->nextId++;
    state_->callbacks.emplace(id, std::move(callback));
    return Subscription(state_, id);
  }

 private:
  std::shared_ptr<detail::CancelState> state_;
};

class CancellationSource {
 public:
  CancellationSource() : state_(std::make_shared<detail::CancelState>()) {}

  CancellationToken token() const { return CancellationToken(state_); }
  bool isCancelled() const { return state_->cancelled.load(std::memory_order_acquire); }

  // Returns false if it was already cancelled. Runs every registered callback once.
  bool cancel(std::string reason = "cancelled") {
    std::unique_lock<std::mutex> lock(state_->mutex);
    if (state_->cancelled.exchange(true, std::memory_order_acq_rel)) {
      return false;
    }
    state_->reason = std::move(reason);
    while (!state_->callbacks.empty()) {
      auto it = state_->callbacks.begin();
      uint64_t id = it->first;
      auto callback = std::move(it->second);
      state_->callbacks.erase(it);
      state_->runningId = id;
      state_->runningThread = std::this_thread::get_id();
      lock.unlock();
      callback();
      lock.lock();
      state_->runningId = 0;
    }
    return true;
  }

 private:
  std::shared_ptr<detail::CancelState> state_;
};

}  // namespace mx
