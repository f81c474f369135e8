// Runs a tool that blocks (`Tool::blocking()`: a database query, an embedding
// call that waits for its answer) on the pool for blocking work, so that the
// graph workers, which run every run's steps, never wait on a round trip.
//
// What: `invoke` posts the tool's own invoke to the pool and returns; `done`
// is called from the pool's thread (or wherever the tool calls it). Invoked
// from one of the pool's own threads, it runs the tool there at once.
// Thread-safety: as the tool's; `invoke` from any thread.
// Ownership: the wrapper shares the tool; the pool must outlive it (both are
// the deployment's; the pool stops after the components shut down).
// Blocking: `invoke` does not block (except when it runs on the pool itself).
#pragma once

#include <memory>

#include "mx/tool.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {

// `tool` itself when it does not block; else the wrapper.
std::shared_ptr<Tool> runBlockingOn(std::shared_ptr<Tool> tool, WorkerPool& pool);

}  // namespace mx::host
