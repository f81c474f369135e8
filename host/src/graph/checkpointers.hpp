// Host checkpointers: in memory (tests, single process) and in files (one
// JSON-lines file per thread under <data_dir>/checkpoints, fsynced, so a run
// survives a crash of the process). Both keep only the newest `retention`
// checkpoints of a thread; deleting a thread removes its history.
// Thread-safety: all methods may be called concurrently (one mutex each).
// Blocking: the file checkpointer blocks on disk writes (fsync).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mx/graph.hpp"

namespace mx::host {


class MemoryCheckpointer final : public Checkpointer {
 public:
  explicit MemoryCheckpointer(size_t retention) : retention_(retention) {}
  Status save(const Checkpoint& checkpoint) override;
  Status saveWrite(const PendingWrite& write) override;
  Result<Checkpoint> latest(std::string_view threadId, std::string_view runId) override;
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view threadId, std::string_view runId, int64_t step) override;
  Result<std::vector<Checkpoint>> history(std::string_view threadId) override;
  Status deleteThread(std::string_view threadId) override;

 private:
  struct Thread {
    std::vector<Checkpoint> checkpoints;
    std::vector<PendingWrite> writes;
  };
  size_t retention_;
  std::mutex mutex_;
  std::map<std::string, Thread, std::less<>> threads_;
};

class FileCheckpointer final : public Checkpointer {
 public:
  FileCheckpointer(std::string directory, size_t retention);
  Status save(const Checkpoint& checkpoint) override;
  Status saveWrite(const PendingWrite& write) override;
  Result<Checkpoint> latest(std::string_view threadId, std::string_view runId) override;
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view threadId, std::string_view runId, int64_t step) override;
  Result<std::vector<Checkpoint>> history(std::string_view threadId) override;
  Status deleteThread(std::string_view threadId) override;

 private:
  std::string pathFor(std::string_view threadId) const;
  Result<std::vector<Json>> readRecords(std::string_view threadId) const;
  Status append(std::string_view threadId, const Json& record);
  Status compact(std::string_view threadId, const std::vector<Json>& records);

  std::string directory_;
  size_t retention_;
  std::mutex mutex_;
};

}  // namespace mx::host
