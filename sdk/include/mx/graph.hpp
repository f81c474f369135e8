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

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mx/cancel.hpp"
#include "mx/component.hpp"
#include "mx/events.hpp"
#include "mx/json.hpp"
#include "mx/status.hpp"

namespace mx {

struct NodeContext {
  std::string nodeName;
  std::string runId;
  std::string threadId;
  std::string userId;
  const Json* state = nullptr;   // read-only view, valid until `done` is called
  EventSink* events = nullptr;
  CancellationToken cancel;
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

}  // namespace mx
