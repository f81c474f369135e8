#include "net/output_batch.hpp"

namespace mx::host {

namespace {
thread_local OutputBatch* openBatch = nullptr;
}

OutputBatch::OutputBatch() {
  if (openBatch == nullptr) {
    openBatch = this;
    outermost_ = true;
  }
}

OutputBatch::~OutputBatch() {
  if (!outermost_) return;
  openBatch = nullptr;  // a flush that produces more output writes it at once
  for (auto& writer : deferred_) writer->flushDeferred();
}

bool OutputBatch::defer(std::shared_ptr<DeferredWriter> writer) {
  if (openBatch == nullptr) return false;
  openBatch->deferred_.push_back(std::move(writer));
  return true;
}

}  // namespace mx::host
