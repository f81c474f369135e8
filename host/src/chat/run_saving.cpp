#include "chat/run_saving.hpp"

namespace mx::host::chat {

namespace {

Status saveRunPartByPart(Store& store, const RunRecord& run) {
  Status first = Status::ok();
  auto keep = [&](Status status) {
    if (first.isOk() && !status.isOk()) first = std::move(status);
  };
  for (const auto& artifact : run.artifacts) keep(store.putArtifact(artifact));
  if (run.assistantMessage) keep(store.appendMessage(*run.assistantMessage));
  auto conversation = store.getConversation(run.userId, run.conversationId);
  if (conversation) {
    conversation->messageCount += run.assistantMessage ? 1 : 0;
    conversation->updatedAtMs = run.updatedAtMs;
    keep(store.putConversation(*conversation));
  } else {
    keep(conversation.status());
  }
  keep(store.appendRunEvents(run.userId, run.conversationId, run.runId, eventsOf(run.events)));
  return first;
}

}  // namespace

Result<int64_t> beginTurn(Store& store, const ConversationRecord& conversation, const MessageRecord& userMessage) {
  if (auto* direct = dynamic_cast<RunRecordStore*>(&store)) {
    auto count = direct->beginTurn(conversation, userMessage);
    if (count.status().code() != Code::Unimplemented) return count;
  }
  ConversationRecord updated = conversation;
  updated.messageCount += 1;
  updated.updatedAtMs = userMessage.createdAtMs;
  MX_RETURN_IF_ERROR(store.putConversation(updated));
  MX_RETURN_IF_ERROR(store.appendMessage(userMessage));
  return updated.messageCount;
}

Status saveRun(Store& store, const RunRecord& run) {
  // The host's guarded store is always a RunRecordStore; it answers
  // Unimplemented for a plugin's store that is not one.
  if (auto* direct = dynamic_cast<RunRecordStore*>(&store)) {
    Status saved = direct->saveRun(run);
    if (saved.code() != Code::Unimplemented) return saved;
  }
  return saveRunPartByPart(store, run);
}

Status saveCheckpoint(Checkpointer& checkpointer, const FinalCheckpoint& checkpoint, const Json& state) {
  if (auto* textSaver = dynamic_cast<CheckpointTextSaver*>(&checkpointer)) return textSaver->saveText(checkpoint.checkpoint, checkpoint.text);
  Checkpoint whole = checkpoint.checkpoint;  // a checkpointer that keeps the state as a tree: a copy of it
  whole.state = state;
  return checkpointer.save(whole);
}

Status saveRun(Store& store, const RunRecord& run, const FinalCheckpoint& checkpoint, const Json& state,
               const CheckpointDestination& destination, CheckpointSaving& saving) {
  saving = {};
  // The host's guarded store is always a RunCheckpointStore; it answers
  // Unimplemented for a plugin's store that is not one.
  auto* together = destination.keptByStore ? dynamic_cast<RunCheckpointStore*>(&store) : nullptr;
  if (together != nullptr) {
    Status saved = together->saveRunWithCheckpoint(run, checkpoint.checkpoint, checkpoint.text);
    if (saved.code() != Code::Unimplemented) {
      saving.together = true;
      return saved;
    }
  }
  saving.apart = saveCheckpoint(destination.checkpointer, checkpoint, state);
  return saveRun(store, run);
}

}  // namespace mx::host::chat
