// Group commit for finished runs, without a thread or a timer of its own.
//
// A run handed over while another save is going on waits for that save and
// then goes with every run that finished meanwhile, in one call (`save`, up
// to maxBatch items a call), instead of a round trip and a commit each. The
// thread that finds no save going on is the one that saves: it goes on while
// items wait, and the others hand theirs over and return at once. One run at
// a time is saved at once, alone: a batch forms only while saves queue up,
// so it adds no wait of its own.
// With `continueElsewhere`, a save that finds more runs waiting when it ends
// goes on through it (the blocking pool's queue: work queued meanwhile, a
// reconnect's read ahead of all, is not held up behind a thread that keeps
// saving); without, or when it refuses (false: the pool is stopping, at
// shutdown), the saving thread goes on itself, so no waiting run is left
// unsaved.
// Thread-safety: submit may be called from any thread. Blocking: submit runs
// `save` on the calling thread when no other thread is saving (call it where
// blocking work may run). Ownership: items are moved in and handed to `save`,
// which completes each of them; `save` must not throw (an exception ends this
// saving and is rethrown; the items of that call are the caller's loss, those
// still waiting go with the next submit). The queue must outlive what
// `continueElsewhere` runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <utility>
#include <vector>

namespace mx::host::chat {

template <class Item>
class SaveQueue {
 public:
  using Save = std::function<void(std::vector<Item>& batch)>;
  using Continue = std::function<bool(std::function<void()> rest)>;  // false: not taken

  SaveQueue(size_t maxBatch, Save save, Continue continueElsewhere = {})
      : maxBatch_(maxBatch == 0 ? 1 : maxBatch), save_(std::move(save)), continueElsewhere_(std::move(continueElsewhere)) {}

  void submit(Item item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiting_.push_back(std::move(item));
      if (saving_) return;
      saving_ = true;
    }
    drain();
  }

 private:
  // Saves batches while runs wait, or one and hands the rest to continueElsewhere_.
  void drain() {
    std::vector<Item> batch;
    while (takeBatch(batch)) {
      try {
        save_(batch);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        saving_ = false;
        throw;
      }
      if (!continueElsewhere_) continue;
      if (doneIfNoneWaits()) return;
      if (continueElsewhere_([this] { drain(); })) return;
    }
  }

  // True, and no one saving, when no run waits.
  bool doneIfNoneWaits() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!waiting_.empty()) return false;
    saving_ = false;
    return true;
  }

  // The next batch, oldest first; false (and no one saving) when none waits.
  bool takeBatch(std::vector<Item>& batch) {
    batch.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    if (waiting_.empty()) {
      saving_ = false;
      return false;
    }
    size_t count = std::min(maxBatch_, waiting_.size());
    batch.assign(std::make_move_iterator(waiting_.begin()), std::make_move_iterator(waiting_.begin() + static_cast<std::ptrdiff_t>(count)));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(count));
    return true;
  }

  const size_t maxBatch_;
  const Save save_;
  const Continue continueElsewhere_;
  std::mutex mutex_;
  std::deque<Item> waiting_;
  bool saving_ = false;
};

}  // namespace mx::host::chat
