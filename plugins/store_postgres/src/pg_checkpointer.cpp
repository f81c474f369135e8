#include "pg_checkpointer.hpp"

#include "pg_sql.hpp"

namespace mx::pg {

namespace {

std::string str(std::string_view view) { return std::string(view); }

}  // namespace

std::string PostgresCheckpointer::saveParts(int first, std::string_view condition) {
  auto p = [first](int i) { return "$" + std::to_string(first + i); };
  std::string when = condition.empty() ? "" : " AND " + std::string(condition);
  // The retention's subquery sees the rows before the insert: keep retention - 1 of them plus the new one.
  return "cp_inserted AS (INSERT INTO checkpoints(thread_id, run_id, step, status, body, created_at) "
         "SELECT " + p(0) + ", " + p(1) + ", " + p(2) + ", " + p(3) + ", " + p(4) + ", " + p(5) +
         (condition.empty() ? "" : " WHERE " + std::string(condition)) + " RETURNING seq), "
         "cp_retired AS (DELETE FROM checkpoints WHERE thread_id = " + p(0) + " AND seq NOT IN "
         "(SELECT seq FROM checkpoints WHERE thread_id = " + p(0) + " ORDER BY seq DESC LIMIT " + p(6) + ")" + when + "), "
         "cp_cleared AS (DELETE FROM pending_writes WHERE thread_id = " + p(0) + " AND run_id = " + p(1) + " AND step < " + p(2) +
         when + ")";
}

PostgresCheckpointer::SaveParameters PostgresCheckpointer::saveParameters(const Checkpoint& checkpoint,
                                                                          const std::string& text) const {
  return {checkpoint.threadId, checkpoint.runId, checkpoint.step, checkpoint.status, text, checkpoint.createdAtMs,
          static_cast<int64_t>(retention_) - 1};
}

Status PostgresCheckpointer::saveText(const Checkpoint& checkpoint, const std::string& text) {
  return pool_.with("save checkpoint", [&](Pool::Lease& lease) -> Status {
    // One statement, one round trip, atomic: the insert, the retention and the
    // step's pending writes. The graph runtime saves after every super-step, so
    // round trips here are per-step latency.
    static const std::string kSql = "WITH " + saveParts(1, "") + " SELECT seq FROM cp_inserted";
    lease.prepare("cp_save", kSql);
    pqxx::nontransaction tx(lease.connection());  // one statement (see pg_store.cpp): one round trip
    auto [thread, run, step, status, body, created, keep] = saveParameters(checkpoint, text);
    lease.exec(tx, "cp_save", thread, run, step, status, body, created, keep);
    return Status::ok();
  });
}

Status PostgresCheckpointer::saveWrite(const PendingWrite& write) {
  return pool_.with("save pending write", [&](Pool::Lease& lease) -> Status {
    lease.prepare("cp_write", "INSERT INTO pending_writes(thread_id, run_id, step, node, update_json) VALUES($1,$2,$3,$4,$5)");
    pqxx::nontransaction tx(lease.connection());
    lease.exec(tx, "cp_write", write.threadId, write.runId, write.step, write.node, write.update.dump());
    return Status::ok();
  });
}

Result<Checkpoint> PostgresCheckpointer::latest(std::string_view threadId, std::string_view runId) {
  return pool_.with("latest checkpoint", [&](Pool::Lease& lease) -> Result<Checkpoint> {
    lease.prepare("cp_latest", "SELECT body FROM checkpoints WHERE thread_id = $1 AND run_id = $2 ORDER BY seq DESC LIMIT 1");
    pqxx::nontransaction tx(lease.connection());
    auto rows = lease.exec(tx, "cp_latest", str(threadId), str(runId));
    if (rows.empty()) return notFoundError("no checkpoint for run " + str(runId) + " of thread " + str(threadId));
    return checkpointFromJson(Json::parse(rows[0][0].as<std::string>()));
  });
}

Result<std::vector<PendingWrite>> PostgresCheckpointer::pendingWrites(std::string_view threadId, std::string_view runId,
                                                                      int64_t step) {
  return pool_.with("pending writes", [&](Pool::Lease& lease) -> Result<std::vector<PendingWrite>> {
    lease.prepare("cp_writes", "SELECT node, update_json FROM pending_writes WHERE thread_id = $1 AND run_id = $2 AND step = $3");
    pqxx::nontransaction tx(lease.connection());
    std::vector<PendingWrite> out;
    for (const auto& row : lease.exec(tx, "cp_writes", str(threadId), str(runId), step)) {
      out.push_back({str(threadId), str(runId), step, row[0].as<std::string>(), Json::parse(row[1].as<std::string>())});
    }
    return out;
  });
}

Result<std::vector<Checkpoint>> PostgresCheckpointer::history(std::string_view threadId) {
  return pool_.with("checkpoint history", [&](Pool::Lease& lease) -> Result<std::vector<Checkpoint>> {
    lease.prepare("cp_history", "SELECT body FROM checkpoints WHERE thread_id = $1 ORDER BY seq");
    pqxx::nontransaction tx(lease.connection());
    std::vector<Checkpoint> out;
    for (const auto& row : lease.exec(tx, "cp_history", str(threadId))) {
      out.push_back(checkpointFromJson(Json::parse(row[0].as<std::string>())));
    }
    return out;
  });
}

void PostgresCheckpointer::deleteThreadIn(pqxx::work& tx, std::string_view threadId) {
  tx.exec_params0("DELETE FROM checkpoints WHERE thread_id = $1", str(threadId));
  tx.exec_params0("DELETE FROM pending_writes WHERE thread_id = $1", str(threadId));
}

Status PostgresCheckpointer::deleteThread(std::string_view threadId) {
  return pool_.with("delete thread checkpoints", [&](Pool::Lease& lease) -> Status {
    pqxx::work tx(lease.connection());
    deleteThreadIn(tx, threadId);
    tx.commit();
    return Status::ok();
  });
}

}  // namespace mx::pg
