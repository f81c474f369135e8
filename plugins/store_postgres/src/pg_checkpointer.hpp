// Graph checkpoints in PostgreSQL (the graph runtime's Checkpointer), in the
// tables of store_postgres: a checkpoint row per super-step (the newest
// `retention` kept per thread) and the pending writes of the step in progress.
// Thread-safety: every method may be called concurrently (pooled connections).
// Blocking: database I/O; the runtime calls it from its workers.
#pragma once

#include <tuple>

#include "mx/graph.hpp"
#include "pg_pool.hpp"

namespace mx::pg {

class PostgresCheckpointer final : public Checkpointer, public CheckpointTextSaver {
 public:
  PostgresCheckpointer(Pool& pool, size_t retention) : pool_(pool), retention_(retention) {}

  Status save(const Checkpoint& checkpoint) override { return saveText(checkpoint, checkpointText(checkpoint)); }
  Status saveText(const Checkpoint& checkpoint, const std::string& text) override;
  Status saveWrite(const PendingWrite& write) override;
  Result<Checkpoint> latest(std::string_view threadId, std::string_view runId) override;
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view threadId, std::string_view runId, int64_t step) override;
  Result<std::vector<Checkpoint>> history(std::string_view threadId) override;
  Status deleteThread(std::string_view threadId) override;

  // Deletes the thread's checkpoints inside a caller's transaction.
  static void deleteThreadIn(pqxx::work& tx, std::string_view threadId);

  // A save as common table expressions for a caller's statement (cp_inserted
  // RETURNING seq, cp_retired, cp_cleared), with the parameters of
  // saveParameters numbered from $`first`; `condition` (SQL, may be empty)
  // must hold for any of them to change a row.
  static std::string saveParts(int first, std::string_view condition);
  using SaveParameters = std::tuple<const std::string&, const std::string&, int64_t, const std::string&, const std::string&,
                                    int64_t, int64_t>;
  SaveParameters saveParameters(const Checkpoint& checkpoint, const std::string& text) const;

 private:
  Pool& pool_;
  size_t retention_;
};

}  // namespace mx::pg
