// Saves checkpoints and pending writes off the run's path (durability "async").
//
// What: a FIFO of saves done by one thread of its own, in the order they were
// handed in, so a run's checkpoints reach the checkpointer in step order and
// its final checkpoint after all the others. `then` runs on the writer's
// thread after the save (the runtime uses it to finish a run only once its
// last checkpoint is durable).
// Thread-safety: save/saveWrite from any thread.
// Ownership: owns its thread; shares the checkpointer.
// Blocking: save/saveWrite never block; the destructor saves everything still
// queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "mx/graph.hpp"
#include "mx/log.hpp"

namespace mx::host {

class CheckpointWriter {
 public:
  CheckpointWriter(std::shared_ptr<Checkpointer> checkpointer, std::shared_ptr<Logger> logger);
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void save(Checkpoint checkpoint, std::function<void(Status)> then = {});
  void saveWrite(PendingWrite write);
  size_t queued() const;

 private:
  void run();

  std::shared_ptr<Checkpointer> checkpointer_;
  std::shared_ptr<Logger> logger_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mx::host
