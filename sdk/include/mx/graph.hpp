// mx/graph.hpp — node kinds and routers for the graph runtime.
//
// What: a graph file (graphs/*.toml) names nodes by kind; each kind is a
// factory registered by a plugin that builds a `Node` from the node's config
// table. A node reads the run's state and returns an update (a JSON object of
// channel -> value) that the runtime applies through the channels' reducers.
// A `Router` picks the next node(s) from the state for a conditional edge.
// Thread-safety: `run` and `route` may be called concurrently for different
// runs. One node instance serves every run of its graph: keep per-run data in
// the state, not in the node.
// Ownership: the context is shared with the runtime until `done` is called.
// Blocking: `run` must not block on I/O: start the model call or tool and call
// `done` from its completion. `route` is a pure function of the state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mx/cancel.hpp"
#include "mx/component.hpp"
#include "mx/events.hpp"
#include "mx/json.hpp"
#include "mx/json_text.hpp"
#include "mx/status.hpp"
#include "mx/usage.hpp"

namespace mx {

struct NodeContext {
  std::string nodeName;
  std::string runId;
  std::string threadId;
  std::string userId;
  const Json* state = nullptr;   // read-only view, valid until `done` is called
  EventSink* events = nullptr;
  CancellationToken cancel;
  UsageRecorder* usage = nullptr;  // ABI 1.1: the run's model-call accounting (may be null)
};

using NodeDone = std::function<void(Result<Json>)>;

class Node : public Component {
 public:
  // Calls `done` exactly once with the state update (a JSON object, may be empty).
  virtual void run(std::shared_ptr<NodeContext> context, NodeDone done) = 0;
};

class Router : public Component {
 public:
  // The names of the next nodes ("__end__" ends the run).
  virtual Result<std::vector<std::string>> route(const Json& state) = 0;
};

// A saved point of a run: the state after a super-step and what runs next.
struct Checkpoint {
  std::string threadId;      // the conversation
  std::string runId;
  int64_t step = 0;          // super-steps completed
  std::string status;        // "running", "interrupted", "completed", "failed", "cancelled"
  Json state;                // every channel
  std::vector<std::string> next;  // nodes of the next super-step
  Json joins;                // progress of join edges: {"target": ["source", ...]}
  std::string error;         // for "failed"
  std::string interruptedAt; // "before:<node>" / "after:<node>" for "interrupted"
  int64_t createdAtMs = 0;
};

inline Json toJson(const Checkpoint& c) {
  return {{"threadId", c.threadId}, {"runId", c.runId}, {"step", c.step}, {"status", c.status},
          {"state", c.state}, {"next", c.next}, {"joins", c.joins.is_null() ? Json::object() : c.joins},
          {"error", c.error}, {"interruptedAt", c.interruptedAt}, {"createdAtMs", c.createdAtMs}};
}

// The same JSON text as toJson(c).dump(), written without copying the state
// tree (the state is the whole conversation; a checkpoint is saved after every
// super-step). With `stateAt`/`stateLength`, where the state's own text
// (c.state.dump()) lies in it.
inline std::string checkpointText(const Checkpoint& c, size_t* stateAt = nullptr, size_t* stateLength = nullptr) {
  std::string text = "{\"createdAtMs\":" + std::to_string(c.createdAtMs);
  auto stringField = [&text](const char* name, const std::string& value) {
    text += name;
    appendJsonString(text, value);
  };
  stringField(",\"error\":", c.error);
  stringField(",\"interruptedAt\":", c.interruptedAt);
  text += ",\"joins\":";
  if (c.joins.is_null()) {
    text += "{}";
  } else {
    appendJson(text, c.joins);
  }
  text += ",\"next\":[";
  for (size_t i = 0; i < c.next.size(); ++i) {
    if (i > 0) text += ',';
    appendJsonString(text, c.next[i]);
  }
  text += ']';
  stringField(",\"runId\":", c.runId);
  text += ",\"state\":";
  if (stateAt != nullptr) *stateAt = text.size();
  appendJson(text, c.state);
  if (stateLength != nullptr && stateAt != nullptr) *stateLength = text.size() - *stateAt;
  stringField(",\"status\":", c.status);
  text += ",\"step\":" + std::to_string(c.step);
  stringField(",\"threadId\":", c.threadId);
  text += '}';
  return text;
}

inline Checkpoint checkpointFromJson(const Json& j) {
  Checkpoint c;
  c.threadId = j.value("threadId", "");
  c.runId = j.value("runId", "");
  c.step = j.value("step", int64_t{0});
  c.status = j.value("status", "");
  c.state = j.contains("state") ? j["state"] : Json::object();
  c.next = j.value("next", std::vector<std::string>{});
  c.joins = j.contains("joins") ? j["joins"] : Json::object();
  c.error = j.value("error", "");
  c.interruptedAt = j.value("interruptedAt", "");
  c.createdAtMs = j.value("createdAtMs", int64_t{0});
  return c;
}

// A node's finished update inside a super-step that has not been checkpointed
// yet: on resume after a crash, the node is not run again.
struct PendingWrite {
  std::string threadId;
  std::string runId;
  int64_t step = 0;
  std::string node;
  Json update;
};

// Durable history of runs (memory, file, SQLite, PostgreSQL).
// Thread-safety: every method may be called concurrently.
// Blocking: may block on I/O; the runtime calls it from its worker threads.
class Checkpointer {
 public:
  virtual ~Checkpointer() = default;
  // Saves a checkpoint and clears the run's pending writes of that step.
  virtual Status save(const Checkpoint& checkpoint) = 0;
  virtual Status saveWrite(const PendingWrite& write) = 0;
  // The run's newest checkpoint (NotFound if none).
  virtual Result<Checkpoint> latest(std::string_view threadId, std::string_view runId) = 0;
  virtual Result<std::vector<PendingWrite>> pendingWrites(std::string_view threadId, std::string_view runId,
                                                          int64_t step) = 0;
  // Every checkpoint of a thread, oldest first (bounded by retention).
  virtual Result<std::vector<Checkpoint>> history(std::string_view threadId) = 0;
  virtual Status deleteThread(std::string_view threadId) = 0;
};

// SDK ABI 1.6. Optional beside Checkpointer (the host finds it with
// dynamic_cast, as RunRecordStore): saves a checkpoint whose text the host has
// already written, `text` == checkpointText(checkpoint), so that a run's final
// state is serialized once for the checkpoint and the session cache, not once
// for each. Same contract as Checkpointer::save; `text` is what is kept, and
// the checkpoint's state may be null (a run's last checkpoint is handed over
// without its tree: the text has it); both are only lent for the call.
class CheckpointTextSaver {
 public:
  virtual ~CheckpointTextSaver() = default;
  virtual Status saveText(const Checkpoint& checkpoint, const std::string& text) = 0;
};

}  // namespace mx
