// mx/tracer.hpp — tracing of runs, model calls and tool calls (LangSmith, logs).
//
// What: spans with a parent, inputs, outputs and an error, mapped by the
// implementation to its backend (LangSmith runs: chain / llm / tool).
// Thread-safety: every method may be called concurrently from any thread.
// Ownership: inputs and outputs are copied.
// Blocking: never; implementations batch and send from their own thread, and
// drop (with a warning) rather than block when their queue is full.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "mx/component.hpp"
#include "mx/json.hpp"
#include "mx/status.hpp"

namespace mx {

struct SpanStart {
  std::string name;
  std::string kind;       // "chain", "llm", "tool", "retriever", "embedding"
  std::string traceId;    // empty for a root span
  std::string parentId;   // empty for a root span
  Json inputs;
  std::chrono::system_clock::time_point startTime = std::chrono::system_clock::now();
};

class Tracer : public Component {
 public:
  // Returns the new span's id.
  virtual std::string startSpan(const SpanStart& span) = 0;
  virtual void endSpan(std::string_view spanId, const Json& outputs, const Status& status) = 0;
};

}  // namespace mx
