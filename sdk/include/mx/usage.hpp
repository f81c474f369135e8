// mx/usage.hpp — where a run's model calls report what they cost.
//
// What: every model call of a run (Tier 1 in a graph node, Tier 2 inside a
// tool) records its token usage and cost here when it completes — also when it
// failed or was cancelled part-way, since the provider bills the tokens it
// already produced. The chat layer reports the run's totals with the assistant
// message, or with the `error` event of a failed or cancelled run.
// Thread-safety: `record` may be called concurrently from any thread.
// Ownership: owned by the run; contexts hold a raw pointer valid until their
// `done` is called. Null when nobody is counting.
// Blocking: never.
#pragma once

#include <string_view>

#include "mx/model.hpp"

namespace mx {

class UsageRecorder {
 public:
  virtual ~UsageRecorder() = default;
  // `completed` is false for a call that failed or was cancelled.
  virtual void record(std::string_view model, const Usage& usage, double costUsd, bool completed) = 0;
};

}  // namespace mx
