// The graph runtime: runs a GraphDefinition in super-steps.
//
// A step runs every node of the current set in parallel on the worker pool
// (a node that waits on a model or a tool holds no worker: it calls back when
// done). When all have finished, their updates are applied through the
// channels' reducers in node order, the next set is computed from the edges
// (static, conditional, routers, joins), and a checkpoint is saved. Each
// finished node's update is also saved as a pending write, so a run resumed
// after a crash does not run a completed node again. interrupt_before /
// interrupt_after pause the run with its state saved; resume() continues it
// with new input. Cancellation (the request's token) stops the run: no new
// node starts, running nodes are told through their context's token, and the
// state up to that point is saved with status "cancelled".
// When checkpoints are saved is the deployment's durability (LangGraph's modes):
//   sync  — each step's checkpoint and each node's pending write before the run
//           goes on: a run resumed after a crash loses nothing;
//   async — handed to a writer thread and saved while the next step runs (in
//           order); the final checkpoint is saved before `done`: a crash may
//           lose the last steps;
//   exit  — only the final checkpoint (completed, interrupted, cancelled,
//           failed): a crash loses the run in progress.
// Thread-safety: start/resume from any thread; `done` is called once, on a
// worker thread.
// Blocking: never on the calling thread; checkpoint I/O runs on workers (sync,
// exit) or the writer thread (async).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/checkpoint_writer.hpp"
#include "graph/graph_definition.hpp"
#include "mx/events.hpp"
#include "mx/log.hpp"
#include "mx/tracer.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {

struct RunRequest {
  std::string threadId;
  std::string runId;
  std::string userId;
  Json input = Json::object();        // an update applied through the reducers before the first step
  std::optional<Json> initialState;   // start from this state instead of the channels' defaults
  EventSink* events = nullptr;        // must outlive the run
  CancellationToken cancel;
  std::shared_ptr<Tracer> tracer;
  UsageRecorder* usage = nullptr;     // the run's model-call accounting; must outlive the run
  // The caller saves the run's last checkpoint (RunOutcome::finalCheckpoint),
  // with its own records of the run in one transaction, instead of the
  // runtime saving it before it calls done. Not with async durability (the
  // checkpoint writer keeps the run's saves in order).
  bool handOverFinalCheckpoint = false;
};

enum class Durability { Sync, Async, Exit };
std::optional<Durability> parseDurability(std::string_view name);

enum class RunStatus { Completed, Interrupted, Cancelled, Failed };
const char* runStatusName(RunStatus status);

struct NodeTiming {
  std::string node;
  int64_t step = 0;
  double startMs = 0;      // since the run started
  double durationMs = 0;
  std::string status;      // "ok" or the error code
};

// A run's last checkpoint, handed over unsaved (RunRequest::handOverFinalCheckpoint).
struct FinalCheckpoint {
  Checkpoint checkpoint;  // without its state: the outcome's state, and in `text`
  std::string text;       // checkpointText of the checkpoint with its state
  size_t stateAt = 0;     // where the state's JSON is in `text`
  size_t stateLength = 0;
};

struct RunOutcome {
  RunStatus status = RunStatus::Completed;
  Status error;
  Json state;
  // `state` as JSON text (state.dump()) when the final checkpoint was saved
  // through a CheckpointTextSaver, which needs it written anyway; else empty.
  std::string stateText;
  std::optional<FinalCheckpoint> finalCheckpoint;  // when handed over, and the run saved one
  // `state` as JSON text when the run wrote it for its checkpoint (stateText,
  // or its part of the handed-over checkpoint's text); else empty.
  std::string_view stateTextView() const {
    if (finalCheckpoint) return std::string_view(finalCheckpoint->text).substr(finalCheckpoint->stateAt, finalCheckpoint->stateLength);
    return stateText;
  }
  std::vector<std::string> next;
  int64_t steps = 0;
  std::string interruptedAt;
  std::vector<NodeTiming> timings;
  // Where the run's time went: its wall time, the part spent waiting on its
  // nodes (per super-step, the slowest node: a model call, tools), and the
  // CPU the runtime itself used on the workers (scheduling, reducers,
  // checkpoints, the synchronous part of starting each node, the writes its
  // tasks batched, taking its tasks off the queue).
  double wallMs = 0;
  double nodeWaitMs = 0;
  double runtimeCpuMs = 0;
};

using RunDone = std::function<void(RunOutcome)>;

class GraphRuntime {
 public:
  GraphRuntime(WorkerPool& workers, std::shared_ptr<Checkpointer> checkpointer, std::shared_ptr<Logger> logger,
               Durability durability = Durability::Sync);
  ~GraphRuntime();

  void start(std::shared_ptr<const GraphDefinition> graph, RunRequest request, RunDone done);
  // Continues (thread, run) from its newest checkpoint: after an interrupt (the
  // input is applied first) or after a crash.
  void resume(std::shared_ptr<const GraphDefinition> graph, RunRequest request, RunDone done);

  Checkpointer& checkpointer() { return *checkpointer_; }
  Durability durability() const { return durability_; }

 private:
  WorkerPool& workers_;
  std::shared_ptr<Checkpointer> checkpointer_;
  std::shared_ptr<Logger> logger_;
  Durability durability_;
  std::unique_ptr<CheckpointWriter> writer_;  // async only
};

}  // namespace mx::host
