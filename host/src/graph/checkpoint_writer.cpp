#include "graph/checkpoint_writer.hpp"

#include "runtime/guards.hpp"
#include "runtime/thread_name.hpp"

namespace mx::host {

CheckpointWriter::CheckpointWriter(std::shared_ptr<Checkpointer> checkpointer, std::shared_ptr<Logger> logger)
    : checkpointer_(std::move(checkpointer)), logger_(std::move(logger)), thread_([this] {
        nameThisThread("mx-checkpoints");
        run();
      }) {}

CheckpointWriter::~CheckpointWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CheckpointWriter::save(Checkpoint checkpoint, std::function<void(Status)> then) {
  auto job = [this, checkpoint = std::move(checkpoint), then = std::move(then)] {
    Status saved = guardedCall("checkpointer", [&] { return checkpointer_->save(checkpoint); });
    if (then) {
      then(saved);
    } else if (!saved.isOk()) {
      logger_->warn("checkpoint of run " + checkpoint.runId + " step " + std::to_string(checkpoint.step) +
                    " not saved: " + saved.toString());
    }
  };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void CheckpointWriter::saveWrite(PendingWrite write) {
  auto job = [this, write = std::move(write)] {
    Status saved = guardedCall("checkpointer", [&] { return checkpointer_->saveWrite(write); });
    if (!saved.isOk()) logger_->warn("pending write of node \"" + write.node + "\" not saved: " + saved.toString());
  };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

size_t CheckpointWriter::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return jobs_.size();
}

void CheckpointWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything is saved
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace mx::host
