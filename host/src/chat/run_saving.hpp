// Saves what a finished run leaves (mx::RunRecord): in one call when the
// store is a RunRecordStore (one round trip, one transaction), else part by
// part with the plain Store calls (every part is tried; the first failure is
// returned).
// Thread-safety: as the store's. Blocking: on the store; call from a worker.
#pragma once

#include "mx/store.hpp"

namespace mx::host::chat {

Status saveRun(Store& store, const RunRecord& run);

}  // namespace mx::host::chat
