// A fixed pool of worker threads. A deployment has two: the graph workers,
// for graph steps (CPU work only: model streams and HTTP tools are
// asynchronous and hold no thread), and the blocking pool, for what waits on
// a round trip (database and cache calls, blocking tools, uploads).
// Tasks run in FIFO order, except that postFirst puts a task ahead of those
// waiting.
// Each task runs inside an OutputBatch: the SSE frames it produces for one
// client leave in one write when it returns.
// A task posted from one of the pool's own tasks wakes no other worker when
// it is the only one waiting: the posting worker runs it next. So a task
// must not wait for a task it posts (it never could on a one-thread pool).
// A task may charge its CPU time to a counter (chargeCurrentTaskTo): the
// worker reads its thread's CPU clock once when such a task ends, after the
// task's batched writes, and counts from the end of the charged task before
// it on the same worker (so taking the task off the queue counts too).
// Thread-safety: post() from any thread. stop() joins after draining.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mx::host {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();

  void post(std::function<void()> task);
  // Ahead of every queued task: for short work a client waits on alone (a
  // reconnect's replay from the store), which under load would otherwise
  // queue behind the steps of hundreds of runs.
  void postFirst(std::function<void()> task);
  // Finishes queued tasks, then joins. Tasks posted afterwards are dropped.
  void stop();
  size_t size() const { return threads_.size(); }
  // Whether the calling thread is running one of this pool's tasks.
  bool runsCurrentTask() const;
  // Runs `task` now when the calling thread is one of this pool's (no hop to
  // another of its threads), else posts it.
  void runHereOrPost(std::function<void()> task);
  // Adds the CPU time of the task running on this thread (a task of any
  // WorkerPool) to `totalNs` when it ends; `totalNs` must outlive the task.
  // Outside a task, does nothing. The thread CPU clock is a system call (no
  // vDSO path): one read per charged task, not one at each end of each.
  static void chargeCurrentTaskTo(std::atomic<int64_t>& totalNs);
  // How many posts have woken a worker (for tests and diagnostics).
  uint64_t wakeUps() const { return wakeUps_.load(std::memory_order_relaxed); }

 private:
  void loop();
  // After a task: its CPU time to where it asked (chargeCurrentTaskTo).
  static void settleCharge();
  void enqueue(std::function<void()> task, bool first);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::atomic<uint64_t> wakeUps_{0};
  std::vector<std::thread> threads_;
};

}  // namespace mx::host
