#include "sqlite_checkpointer.hpp"

namespace mx::sqlite {

Status SqliteCheckpointer::saveText(const Checkpoint& checkpoint, const std::string& text) {
  auto db = pool_.acquire();
  Transaction tx(*db);
  MX_RETURN_IF_ERROR(tx.begun());
  MX_RETURN_IF_ERROR(saveIn(*db, checkpoint, text));
  return tx.commit();
}

Status SqliteCheckpointer::saveIn(Connection& db, const Checkpoint& checkpoint, const std::string& text) const {
  MX_RETURN_IF_ERROR(db.prepare("INSERT INTO checkpoints(thread_id, run_id, step, status, body, created_at) VALUES(?1,?2,?3,?4,?5,?6)")
                         .bind(1, checkpoint.threadId).bind(2, checkpoint.runId).bind(3, checkpoint.step)
                         .bind(4, checkpoint.status).bind(5, text).bind(6, checkpoint.createdAtMs).run());
  MX_RETURN_IF_ERROR(db.prepare("DELETE FROM checkpoints WHERE thread_id = ?1 AND seq NOT IN "
                                "(SELECT seq FROM checkpoints WHERE thread_id = ?1 ORDER BY seq DESC LIMIT ?2)")
                         .bind(1, checkpoint.threadId).bind(2, static_cast<int64_t>(retention_)).run());
  return db.prepare("DELETE FROM pending_writes WHERE thread_id = ?1 AND run_id = ?2 AND step < ?3")
      .bind(1, checkpoint.threadId).bind(2, checkpoint.runId).bind(3, checkpoint.step).run();
}

Status SqliteCheckpointer::saveWrite(const PendingWrite& write) {
  auto db = pool_.acquire();
  return db->prepare("INSERT INTO pending_writes(thread_id, run_id, step, node, update_json) VALUES(?1,?2,?3,?4,?5)")
      .bind(1, write.threadId).bind(2, write.runId).bind(3, write.step).bind(4, write.node).bind(5, write.update.dump()).run();
}

Result<Checkpoint> SqliteCheckpointer::latest(std::string_view threadId, std::string_view runId) {
  auto db = pool_.acquire();
  auto statement = db->prepare("SELECT body FROM checkpoints WHERE thread_id = ?1 AND run_id = ?2 ORDER BY seq DESC LIMIT 1");
  statement.bind(1, threadId).bind(2, runId);
  if (statement.step()) return checkpointFromJson(Json::parse(statement.text(0)));
  MX_RETURN_IF_ERROR(statement.status());
  return notFoundError("no checkpoint for run " + std::string(runId) + " of thread " + std::string(threadId));
}

Result<std::vector<PendingWrite>> SqliteCheckpointer::pendingWrites(std::string_view threadId, std::string_view runId, int64_t step) {
  auto db = pool_.acquire();
  auto statement = db->prepare("SELECT node, update_json FROM pending_writes WHERE thread_id=?1 AND run_id=?2 AND step=?3");
  statement.bind(1, threadId).bind(2, runId).bind(3, step);
  std::vector<PendingWrite> out;
  while (statement.step()) {
    out.push_back({std::string(threadId), std::string(runId), step, statement.text(0), Json::parse(statement.text(1))});
  }
  MX_RETURN_IF_ERROR(statement.status());
  return out;
}

Result<std::vector<Checkpoint>> SqliteCheckpointer::history(std::string_view threadId) {
  auto db = pool_.acquire();
  auto statement = db->prepare("SELECT body FROM checkpoints WHERE thread_id = ?1 ORDER BY seq");
  statement.bind(1, threadId);
  std::vector<Checkpoint> out;
  while (statement.step()) out.push_back(checkpointFromJson(Json::parse(statement.text(0))));
  MX_RETURN_IF_ERROR(statement.status());
  return out;
}

Status SqliteCheckpointer::deleteThread(std::string_view threadId) {
  auto db = pool_.acquire();
  Transaction tx(*db);
  MX_RETURN_IF_ERROR(tx.begun());
  MX_RETURN_IF_ERROR(db->prepare("DELETE FROM checkpoints WHERE thread_id = ?1").bind(1, threadId).run());
  MX_RETURN_IF_ERROR(db->prepare("DELETE FROM pending_writes WHERE thread_id = ?1").bind(1, threadId).run());
  return tx.commit();
}

}  // namespace mx::sqlite
