#include "runtime/worker_pool.hpp"

#include "net/output_batch.hpp"

namespace mx::host {

WorkerPool::WorkerPool(size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    threads_.emplace_back([this] { loop(); });
  }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::post(std::function<void()> task) { enqueue(std::move(task), false); }

void WorkerPool::postFirst(std::function<void()> task) { enqueue(std::move(task), true); }

void WorkerPool::enqueue(std::function<void()> task, bool first) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    if (first) {
      tasks_.push_front(std::move(task));
    } else {
      tasks_.push_back(std::move(task));
    }
  }
  wake_.notify_one();
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void WorkerPool::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    OutputBatch burst;  // what one task sends a client (a step's status events) leaves in one write
    task();
  }
}

}  // namespace mx::host
