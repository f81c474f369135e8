// Saves the beginning of a turn (the user's message, the conversation's
// count) and what a finished run leaves (mx::RunRecord): in one call each when
// the store is a RunRecordStore (one round trip, one transaction), else part
// by part with the plain Store calls (for a run, every part is tried and the
// first failure is returned).
// A run's last checkpoint, when the graph runtime hands it over, is saved in
// the run's transaction when the store keeps the checkpoints and is a
// RunCheckpointStore, else through the checkpointer just before the run.
// Thread-safety: as the store's. Blocking: on the store; call from a worker.
#pragma once

#include "graph/graph_runtime.hpp"
#include "mx/store.hpp"

namespace mx::host::chat {

// `conversation` as read (or new, with count 0); returns the count after.
Result<int64_t> beginTurn(Store& store, const ConversationRecord& conversation, const MessageRecord& userMessage);
Status saveRun(Store& store, const RunRecord& run);

// Where a finished run's last checkpoint goes.
struct CheckpointDestination {
  Checkpointer& checkpointer;      // the graph runtime's
  bool keptByStore = false;        // the checkpointer is the store's own
};
// How the checkpoint went: with the run (then the run's status is both's), or apart.
struct CheckpointSaving {
  bool together = false;
  Status apart;  // when saved apart
};
// The run, and `checkpoint` (its state is `state`): together when they can be,
// else the checkpoint first. Returns the run's status.
Status saveRun(Store& store, const RunRecord& run, const FinalCheckpoint& checkpoint, const Json& state,
               const CheckpointDestination& destination, CheckpointSaving& saving);
// The checkpoint alone, through the checkpointer.
Status saveCheckpoint(Checkpointer& checkpointer, const FinalCheckpoint& checkpoint, const Json& state);

}  // namespace mx::host::chat
