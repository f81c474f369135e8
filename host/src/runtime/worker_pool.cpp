#include "runtime/worker_pool.hpp"

#include <time.h>

#include <algorithm>
#include <string>

#include "net/output_batch.hpp"
#include "runtime/thread_name.hpp"

namespace mx::host {

WorkerPool::WorkerPool(size_t threads, bool acceptsHelp, std::string_view name) : acceptsHelp_(acceptsHelp) {
  size_t count = std::max<size_t>(1, threads);
  for (size_t i = 0; i < count; ++i) sleepers_.push_back(std::make_unique<Sleeper>());
  idle_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    threads_.emplace_back([this, i, poolName = std::string(name)] { loop(i, poolName); });
  }
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::post(std::function<void()> task) { return enqueue(task, false); }

void WorkerPool::postFirst(std::function<void()> task) { (void)enqueue(task, true); }

namespace {
thread_local const WorkerPool* runningIn = nullptr;  // the pool whose task this thread is running
thread_local std::atomic<int64_t>* chargedTo = nullptr;  // where the running task's CPU time goes
// The thread's CPU clock when its last charged task ended; -1 when the task
// after that was not charged (its time is nobody's, so the next charged task
// starts its count when it asks to be charged).
thread_local int64_t chargedUpToNs = -1;
thread_local WorkerPool::HelpWhenIdle* helping = nullptr;  // the outermost scope open on this thread

int64_t threadCpuNs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}
}  // namespace

void WorkerPool::chargeCurrentTaskTo(std::atomic<int64_t>& totalNs) {
  if (runningIn == nullptr) return;
  chargedTo = &totalNs;
  if (chargedUpToNs < 0) chargedUpToNs = threadCpuNs();
}

bool WorkerPool::runsCurrentTask() const { return runningIn == this; }

size_t WorkerPool::workersAsleep() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return asleep_;
}

void WorkerPool::runHereOrPost(std::function<void()> task) {
  if (runsCurrentTask() || !enqueue(task, false)) task();
}

bool WorkerPool::enqueue(std::function<void()>& task, bool first) {
  bool wake;
  Sleeper* picked = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    if (first) {
      tasks_.push_front(std::move(task));
    } else {
      tasks_.push_back(std::move(task));
    }
    // A worker posting the next piece of its own work (a graph step's node, a finished node's step)
    // takes it itself when its task returns: waking an idle worker for it would cost a futex call
    // and a context switch on each side (at one stream, about 30 of the 50 futex calls of a turn).
    // A second waiting task wakes one, so work that can run in parallel still does.
    wake = runningIn != this || tasks_.size() > 1;
    if (wake && runningIn != this && helping != nullptr && acceptsHelp_ && idle_.size() == threads_.size() && tasks_.size() == 1) {
      wake = false;  // the posting thread takes it when its scope closes
      if (std::find(helping->pools_.begin(), helping->pools_.end(), this) == helping->pools_.end()) helping->pools_.push_back(this);
    }
    if (wake) picked = pickSleeper();
  }
  wakeUp(picked);
  return true;
}

WorkerPool::Sleeper* WorkerPool::pickSleeper() {
  if (idle_.empty()) return nullptr;  // every worker is busy or already picked: one takes the task when free
  Sleeper* picked = idle_.back();
  idle_.pop_back();
  picked->woken = true;
  wakeUps_.fetch_add(1, std::memory_order_relaxed);
  return picked;
}

void WorkerPool::wakeUp(Sleeper* sleeper) {
  if (sleeper == nullptr) return;
  sleeper->wake.notify_one();
}

void WorkerPool::sleep(std::unique_lock<std::mutex>& lock, Sleeper& me) {
  me.woken = false;
  idle_.push_back(&me);
  ++asleep_;
  me.wake.wait(lock, [&] { return me.woken || stopping_; });
  --asleep_;
  if (!me.woken) idle_.erase(std::find(idle_.begin(), idle_.end(), &me));  // stopping: no post picked it
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  for (auto& sleeper : sleepers_) sleeper->wake.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void WorkerPool::loop(size_t index, const std::string& poolName) {
  nameThisThread(nameOf(poolName, index));
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!stopping_ && tasks_.empty()) sleep(lock, *sleepers_[index]);
      if (tasks_.empty()) {
        if (stopping_) return;
        continue;  // picked, but a worker that was busy took the task first
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    {
      // A task of the blocking pool (a tool's query, a turn's first save) that posts the run's next
      // step to the idle graph workers runs it here when it ends, as an event loop's pass would.
      HelpWhenIdle help;
      run(task);
    }
  }
}

void WorkerPool::run(const std::function<void()>& task) {
  {
    OutputBatch burst;  // what one task sends a client (a step's status events) leaves in one write
    runningIn = this;
    task();
    runningIn = nullptr;
  }
  settleCharge();
}

WorkerPool::HelpWhenIdle::HelpWhenIdle() {
  if (helping != nullptr) return;
  helping = this;
  outermost_ = true;
}

WorkerPool::HelpWhenIdle::~HelpWhenIdle() {
  if (!outermost_) return;
  helping = nullptr;
  for (WorkerPool* pool : pools_) pool->help();
}

void WorkerPool::help() {
  chargedUpToNs = -1;  // the loop's own work since the last helped task is no task's
  for (int helped = 0;; ++helped) {
    std::function<void()> task;
    Sleeper* picked = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (tasks_.empty() || stopping_) break;  // stopping: the workers finish the queue
      if (helped == kMostHelpedTasks) {
        picked = pickSleeper();
      } else {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
    }
    if (!task) {
      wakeUp(picked);
      break;
    }
    run(task);
  }
  chargedUpToNs = -1;
}

void WorkerPool::settleCharge() {
  if (chargedTo == nullptr) {
    chargedUpToNs = -1;
    return;
  }
  int64_t now = threadCpuNs();
  chargedTo->fetch_add(now - chargedUpToNs, std::memory_order_relaxed);
  chargedUpToNs = now;
  chargedTo = nullptr;
}

}  // namespace mx::host
