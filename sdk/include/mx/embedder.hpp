// mx/embedder.hpp — turns text into vectors for knowledge search.
//
// What: a batch embedding call. `modelName()` and `dimensions()` are fixed for
// the lifetime of the component (stores record them so that vectors from
// different models are never compared).
// Thread-safety: `embed` may be called concurrently from any thread.
// Ownership: inputs are borrowed for the call; the result is owned by the caller.
// Blocking: `embed` blocks (network or CPU); call it from a worker, not a reactor.
// Cancellation: honoured between batches.
#pragma once

#include <string>
#include <vector>

#include "mx/cancel.hpp"
#include "mx/component.hpp"
#include "mx/status.hpp"

namespace mx {

class Embedder : public Component {
 public:
  virtual std::string modelName() const = 0;
  virtual int dimensions() const = 0;
  // One vector per input, in input order, each of `dimensions()` floats.
  virtual Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& texts,
                                                       CancellationToken cancel) = 0;
};

}  // namespace mx
