// A fixed pool of worker threads. A deployment has two: the graph workers,
// for graph steps (CPU work only: model streams and HTTP tools are
// asynchronous and hold no thread), and the blocking pool, for what waits on
// a round trip (database and cache calls, blocking tools, uploads).
// Tasks run in FIFO order, except that postFirst puts a task ahead of those
// waiting.
// Each task runs inside an OutputBatch: the SSE frames it produces for one
// client leave in one write when it returns.
// A post that needs a worker wakes the one that went to sleep last (a stack,
// not the condition variable's order): at light load the same one or two
// threads do the work, warm in their core's caches, and the others stay
// asleep, so a pool sized for a store a round trip away (production's 16
// blocking threads) costs nothing when the store answers in microseconds.
// A task posted from one of the pool's own tasks wakes no other worker when
// it is the only one waiting: the posting worker runs it next. So a task
// must not wait for a task it posts (it never could on a one-thread pool).
// A task may charge its CPU time to a counter (chargeCurrentTaskTo): the
// worker reads its thread's CPU clock once when such a task ends, after the
// task's batched writes, and counts from the end of the charged task before
// it on the same worker (so taking the task off the queue counts too).
// A pool built with `acceptsHelp` lets the thread that posts a task (the HTTP
// client's loop, a reactor, another pool's worker) run it while every worker is
// asleep (HelpWhenIdle, below).
// Thread-safety: post() from any thread. stop() joins after draining.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mx::host {

class WorkerPool {
 public:
  // `acceptsHelp`: only for a pool whose tasks never wait on I/O or on
  // another thread (the graph workers when blocking work has a pool of its
  // own): a helped task holds up the helper's event loop while it runs.
  // `name`: the threads are named "<name>-<index>" (runtime/thread_name.hpp).
  explicit WorkerPool(size_t threads, bool acceptsHelp = false, std::string_view name = "mx-pool");
  ~WorkerPool();

  // Opened by an event loop's thread around one pass of its loop (the HTTP
  // client's: the pass that reads a model's answer). A task the pass posts to
  // a pool that accepts help, while every worker of that pool is asleep and
  // nothing else is queued, wakes no worker: this thread runs it when the
  // scope closes, and what it posts in turn, up to kMostHelpedTasks, and then
  // wakes a worker for any left. With few streams a model's answer, the step
  // it ends and the start of the next call then stay on one thread: two
  // context switches fewer per model call (each one costs as much CPU as a
  // graph step). Under load the workers are busy and posts go to them.
  // Every pool's worker opens one around each of its tasks, so a task of the
  // blocking pool that posts a run's next step helps the same way.
  // Scopes nest (the outermost runs the tasks). A scope belongs to the thread
  // that opened it and must close on it (it is a local variable).
  class HelpWhenIdle {
   public:
    HelpWhenIdle();
    ~HelpWhenIdle();
    HelpWhenIdle(const HelpWhenIdle&) = delete;
    HelpWhenIdle& operator=(const HelpWhenIdle&) = delete;

   private:
    friend class WorkerPool;
    bool outermost_ = false;
    std::vector<WorkerPool*> pools_;  // pools with a task left for this thread
  };
  static constexpr int kMostHelpedTasks = 16;

  // False, and the task dropped, once stop() has begun.
  bool post(std::function<void()> task);
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
  // another of its threads), else posts it; once stop() has begun, runs it
  // now on the calling thread too (a run's last save, a blocking tool's
  // call at shutdown: done where it is rather than dropped).
  void runHereOrPost(std::function<void()> task);
  // Adds the CPU time of the task running on this thread (a task of any
  // WorkerPool) to `totalNs` when it ends; `totalNs` must outlive the task.
  // Outside a task, does nothing. The thread CPU clock is a system call (no
  // vDSO path): one read per charged task, not one at each end of each.
  static void chargeCurrentTaskTo(std::atomic<int64_t>& totalNs);
  // How many times a sleeping worker was woken for a task (for tests and diagnostics).
  uint64_t wakeUps() const { return wakeUps_.load(std::memory_order_relaxed); }
  // How many workers are waiting for a task (for tests).
  size_t workersAsleep() const;
  bool acceptsHelp() const { return acceptsHelp_; }

 private:
  void loop(size_t index, const std::string& poolName);
  // After a task: its CPU time to where it asked (chargeCurrentTaskTo).
  static void settleCharge();
  // Takes `task` (moves it out) unless stopping; false, `task` untouched, then.
  bool enqueue(std::function<void()>& task, bool first);
  // Runs queued tasks on the calling (helping) thread: see HelpWhenIdle.
  void help();
  // Runs one task as this pool's (a worker's or a helper's): its writes batched, its CPU charged.
  void run(const std::function<void()>& task);

  // A worker waiting for a task; `woken` set (under mutex_) by the post that picked it.
  struct Sleeper {
    std::condition_variable wake;
    bool woken = false;
  };
  // Under mutex_: picks the worker that slept last, if any sleeps; notify it after unlocking.
  Sleeper* pickSleeper();
  static void wakeUp(Sleeper* sleeper);
  // Under `lock`: waits on `me` until a post picks it or stop() begins.
  void sleep(std::unique_lock<std::mutex>& lock, Sleeper& me);

  mutable std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  const bool acceptsHelp_;
  std::vector<std::unique_ptr<Sleeper>> sleepers_;  // one per worker, by index
  std::vector<Sleeper*> idle_;  // sleeping workers not yet picked, the last to sleep at the back
  size_t asleep_ = 0;  // workers waiting for a task
  std::atomic<uint64_t> wakeUps_{0};
  std::vector<std::thread> threads_;
};

}  // namespace mx::host
