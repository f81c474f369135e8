// Graph checkpoints in the SQLite store (tables checkpoints, pending_writes),
// bounded to the newest `retention` per thread.
// Thread-safety: as the pool. Blocking: on the database.
#pragma once

#include "mx/graph.hpp"
#include "sqlite_db.hpp"

namespace mx::sqlite {

class SqliteCheckpointer final : public Checkpointer, public CheckpointTextSaver {
 public:
  SqliteCheckpointer(Pool& pool, size_t retention) : pool_(pool), retention_(retention) {}
  Status save(const Checkpoint& checkpoint) override { return saveText(checkpoint, checkpointText(checkpoint)); }
  Status saveText(const Checkpoint& checkpoint, const std::string& text) override;
  Status saveWrite(const PendingWrite& write) override;
  Result<Checkpoint> latest(std::string_view threadId, std::string_view runId) override;
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view threadId, std::string_view runId, int64_t step) override;
  Result<std::vector<Checkpoint>> history(std::string_view threadId) override;
  Status deleteThread(std::string_view threadId) override;
  // saveText's writes, in a transaction the caller holds on `db`.
  Status saveIn(Connection& db, const Checkpoint& checkpoint, const std::string& text) const;

 private:
  Pool& pool_;
  size_t retention_;
};

}  // namespace mx::sqlite
