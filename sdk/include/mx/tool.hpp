// mx/tool.hpp — a tool the orchestrator (Tier 1) can call.
//
// What: a named operation with a JSON-Schema-described argument object. The
// host validates the arguments against `definition().inputSchema` before
// `invoke`; a tool still rejects bad values with InvalidArgument (the message
// goes back to the model as a tool error).
// Thread-safety: `invoke` may be called concurrently from any thread.
// Ownership: the tool keeps `context` (shared_ptr) for as long as it needs it.
// Blocking: `invoke` should return quickly and call `done` later (from any
// thread) when the work is I/O-bound; a tool that must block declares so with
// `blocking()` and the host then runs it on a bounded worker pool.
// Cancellation: `context->cancel` fires when the run is cancelled or the tool's
// timeout passes; the tool should then call `done` with Code::Cancelled soon.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "mx/cancel.hpp"
#include "mx/component.hpp"
#include "mx/events.hpp"
#include "mx/json.hpp"
#include "mx/model.hpp"
#include "mx/status.hpp"
#include "mx/usage.hpp"

namespace mx {

struct ToolContext {
  std::string userId;
  std::string runId;
  std::string threadId;        // the conversation id
  EventSink* events = nullptr; // the run's event sink; valid until `done` is called
  const Json* state = nullptr; // the run's state (read-only), when called from a graph
  CancellationToken cancel;
  UsageRecorder* usage = nullptr;  // ABI 1.1: the run's model-call accounting (may be null)
};

using ToolDone = std::function<void(Result<Json>)>;

class Tool : public Component {
 public:
  virtual ToolDefinition definition() const = 0;
  virtual bool blocking() const { return false; }
  // Calls `done` exactly once.
  virtual void invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) = 0;
};

}  // namespace mx
