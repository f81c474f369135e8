// Saves the beginning of a turn (the user's message, the conversation's
// count) and what a finished run leaves (mx::RunRecord): in one call each when
// the store is a RunRecordStore (one round trip, one transaction), else part
// by part with the plain Store calls (for a run, every part is tried and the
// first failure is returned).
// Thread-safety: as the store's. Blocking: on the store; call from a worker.
#pragma once

#include "mx/store.hpp"

namespace mx::host::chat {

// `conversation` as read (or new, with count 0); returns the count after.
Result<int64_t> beginTurn(Store& store, const ConversationRecord& conversation, const MessageRecord& userMessage);
Status saveRun(Store& store, const RunRecord& run);

}  // namespace mx::host::chat
