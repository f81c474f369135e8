// The event log of one run: every SSE event it emits, numbered 1, 2, 3, ...
//
// It is the run's EventSink. Appending an event stores it and sends it to
// every subscribed stream; subscribing replays the events after a given id
// and then adds the stream, both under one lock, so a reconnecting client
// gets exactly the events it missed followed by the live ones, none twice,
// none lost. It also tracks the artifacts the events describe (start, delta,
// end), so a cancelled or failed run can keep its partial artifact.
// Thread-safety: every method may be called from any thread.
// Blocking: never (sending only enqueues).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat/sse_connection.hpp"
#include "mx/events.hpp"
#include "mx/store.hpp"

namespace mx::host::chat {

struct ArtifactDraft {
  std::string id;
  std::string contentType;
  std::string content;
  int64_t wordCount = 0;
  bool ended = false;
  bool incomplete = false;
};

class RunLog final : public EventSink {
 public:
  void emit(std::string_view event, std::string data) override;
  // Formats the event without a JSON tree and adds the text to the draft.
  void emitArtifactDelta(std::string_view artifactId, std::string_view text) override;

  // Replays events after `afterId`, then streams live ones (or finishes the
  // stream at once if the run is over). False, sending nothing, once the
  // events were released: replay from the store then.
  bool subscribe(const std::shared_ptr<SseConnection>& connection, int64_t afterId);
  // After close, once the store holds the events: frees them (the run
  // manager forgets the run; its events are read back from the store), so
  // memory follows the live streams, not the finished ones.
  void releaseEvents();
  bool released() const;
  // From now on emit() and emitArtifactDelta() are ignored (a tool still
  // running after its run ended); only finishWith() adds the last event.
  void seal();
  // Appends the run's last event (even when sealed) and closes.
  void finishWith(std::string_view event, std::string_view data);
  // No more events: every stream is finished.
  void close();
  bool closed() const;

  // Every event, one object each (for tests and tools; the host saves with writeEvents).
  std::vector<RunEvent> events() const;
  // Every event into `batch`, in order: the stored form written straight from
  // the log (a delta's data formatted once more, no RunEvent per event).
  // Returns how many.
  size_t writeEvents(RunEventBatchWriter& batch) const;
  // How many events it holds (what writeEvents would write).
  size_t eventCount() const;
  std::vector<ArtifactDraft> artifacts() const;
  // Sends a keep-alive comment to the streams when no event has gone out since
  // the last call and for `idle` since then (called once a second: a silent
  // stream gets one between `idle` and `idle` + 1 s after its last event).
  // Events only set a flag: no clock read per event.
  void heartbeat(std::chrono::steady_clock::duration idle);
  size_t subscriberCount() const;
  // True when streams have watched this run and every one of them is gone
  // (drops the gone ones); a run nobody ever watched is not abandoned.
  bool abandoned();
  std::chrono::steady_clock::time_point closedAt() const;

 private:
  void track(std::string_view event, const std::string& data);
  // Keeps the event and sends it to every stream. Under the lock.
  void append(std::string_view event, std::string_view data);

  // The events, compact: a turn keeps ~240 of them for its whole life (a
  // reconnect replays them), so none is a RunEvent with two strings (and a
  // heap block) each. An event's data is a range of one text buffer and its
  // name an index into the run's few distinct names. An artifact delta (most
  // of a turn's events) keeps no JSON: consecutive deltas of one artifact are
  // one entry, a run of texts lying end to end in the draft's content, with
  // each text's length one varint byte or two in `deltaLengths_`; its data is
  // formatted when sent. A turn's ~200 deltas take a few entries and ~200
  // bytes instead of 200 entries.
  struct Entry {
    uint32_t dataAt;      // in text_; a delta run: in its draft's content
    uint32_t dataLength;  // a delta run: where its lengths start in deltaLengths_
    uint32_t nameIndex;   // or kDeltaOf | the draft's index
    uint32_t events;      // 1; a delta run: its deltas
  };
  static constexpr uint32_t kDeltaOf = 0x80000000u;
  // Every event after `afterId`, in order: plain(id, name, data) or
  // delta(id, draftIndex, text). Under the lock.
  template <class Plain, class Delta>
  void forEachAfter(int64_t afterId, Plain&& plain, Delta&& delta) const;
  size_t nameIndex(std::string_view event);
  size_t draftIndex(std::string_view artifactId);
  // Sends event `id` to every stream, dropping closed ones. Under the lock.
  void send(int64_t id, std::string_view event, std::string_view data);
  // `sendTo(SseConnection&)` for each subscriber; one that returns false (its client is gone) is dropped.
  template <class SendTo>
  void sendEach(SendTo&& sendTo) {
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(), [&](const auto& subscriber) { return !sendTo(*subscriber); }),
                       subscribers_.end());
    sentSinceHeartbeatCheck_ = true;
  }

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // in the events' order
  size_t eventCount_ = 0;       // the last event's id
  std::string text_;
  std::string deltaLengths_;
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<SseConnection>> subscribers_;
  bool everSubscribed_ = false;
  std::vector<ArtifactDraft> drafts_;  // in the order they started
  std::vector<std::string> deltaHeads_;  // artifactDeltaHead of each draft, by the same index
  std::map<std::string, size_t, std::less<>> draftIndex_;
  std::string scratch_;  // a delta's data while it is replayed
  bool closed_ = false;
  bool sealed_ = false;
  bool released_ = false;
  bool sentSinceHeartbeatCheck_ = false;
  std::chrono::steady_clock::time_point silentSince_ = std::chrono::steady_clock::now();  // at the latest
  std::chrono::steady_clock::time_point closedAt_;
};

}  // namespace mx::host::chat
