// mx/events.hpp — where nodes and tools send the events a client sees.
//
// What: an `EventSink` receives the SSE events of one run: the architecture's
// kinds `thinking`, `analysis`, `artifact`, `message`, `error`, `done`. `data` is
// already-serialised JSON on one line; the host frames it (id:, event:, data:)
// and appends it to the run's event log. Passing the serialised string (moved,
// not copied) keeps per-token cost to one small allocation.
// Thread-safety: `emit` may be called from any thread; events from one thread
// keep their order.
// Ownership: the sink is owned by the run; holders get it by reference for the
// duration of a call or by shared_ptr.
// Blocking: never (appends to memory; delivery happens on the HTTP reactors).
#pragma once

#include <string>
#include <string_view>

#include "mx/json.hpp"
#include "mx/json_text.hpp"

namespace mx {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(std::string_view event, std::string data) = 0;

  void emitJson(std::string_view event, const Json& data) { emit(event, jsonText(data)); }

  // ABI 1.2: one text delta of an artifact being written, the most frequent
  // event (one per model token). The same event as emitJson("artifact",
  // {type: delta, artifactId, content}); a host overrides it to format the
  // event without a JSON tree and to track the draft without parsing it back.
  virtual void emitArtifactDelta(std::string_view artifactId, std::string_view text) {
    emitJson("artifact", {{"type", "delta"}, {"artifactId", artifactId}, {"content", text}});
  }
};

}  // namespace mx
