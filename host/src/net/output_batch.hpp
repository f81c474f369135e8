// Coalesces the writes one burst of work makes to each client stream.
//
// What: while an OutputBatch is open on a thread, a stream with bytes to send
// defers to it (once) instead of writing; when the batch closes, every
// deferred stream writes what it has gathered, once. A burst is one pass of
// the HTTP client's loop: one read of a fast model stream carries dozens of
// text deltas, each an SSE frame to a client, and Pistache 0.0.5 costs a
// queue entry, an eventfd write, two eventfd reads and a send() per write —
// so one write per stream per burst instead of one per frame.
// Outside a batch, streams write at once (nothing is ever held back longer
// than the burst that produced it).
// Thread-safety: a batch belongs to the thread that opened it; nested batches
// on one thread join the outermost. A stream may be deferred into batches of
// different threads; it must serialise its own buffer.
// Ownership: the batch keeps each deferred stream alive until it flushes it.
// Blocking: never; closing the batch only enqueues.
#pragma once

#include <memory>
#include <vector>

namespace mx::host {

class DeferredWriter {
 public:
  virtual ~DeferredWriter() = default;
  // Writes what was gathered since the writer deferred.
  virtual void flushDeferred() = 0;
};

class OutputBatch {
 public:
  OutputBatch();
  ~OutputBatch();
  OutputBatch(const OutputBatch&) = delete;
  OutputBatch& operator=(const OutputBatch&) = delete;

  // True when a batch is open on this thread: it will call
  // writer->flushDeferred() when it closes. False: write now.
  static bool defer(std::shared_ptr<DeferredWriter> writer);

 private:
  bool outermost_ = false;
  std::vector<std::shared_ptr<DeferredWriter>> deferred_;
};

}  // namespace mx::host
