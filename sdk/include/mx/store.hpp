// mx/store.hpp — the persistent store of a deployment (SQLite, PostgreSQL).
//
// What: the durable home of resources (documents) and their chunks with
// embeddings, canon overrides, conversations, messages, artifacts, run event
// logs and graph checkpoints. Every record is owned by a user id and every
// query is filtered by it: asking for another user's record answers NotFound,
// exactly as for a record that does not exist.
// Thread-safety: every method may be called concurrently from any thread; an
// implementation pools its own connections.
// Ownership: results are owned by the caller.
// Blocking: every call blocks on the database; call from workers (tools marked
// blocking, the host's worker pool), never from an HTTP reactor.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mx/component.hpp"
#include "mx/graph.hpp"
#include "mx/json.hpp"
#include "mx/json_text.hpp"
#include "mx/status.hpp"

namespace mx {

struct ResourceRecord {
  std::string id;
  std::string userId;
  std::string title;
  std::string resourceType;   // brand-guidelines, handbook, product, persona, ...
  std::string format;         // text, markdown, html
  std::string content;        // the full text (as extracted)
  int64_t chunkCount = 0;
  std::string embeddingModel; // which embedder made the vectors
  int64_t createdAtMs = 0;
};

struct ChunkRecord {
  std::string id;
  std::string resourceId;
  int64_t ordinal = 0;
  std::string heading;        // the section the chunk belongs to
  std::string text;
  std::vector<float> embedding;
};

struct SearchQuery {
  std::string userId;
  std::string text;                 // for full-text search
  std::vector<float> embedding;     // for vector search
  int limit = 10;
  std::vector<std::string> resourceTypes;  // empty: all
  std::vector<std::string> resourceIds;    // empty: all
};

struct SearchHit {
  std::string chunkId;
  std::string resourceId;
  std::string resourceTitle;
  std::string resourceType;
  std::string heading;
  std::string text;
  double score = 0;   // higher is better (bm25 negated / cosine similarity)
};

struct CanonEntry {
  std::string userId;
  std::string contentType;   // email, ad, landing-page, script
  std::string category;      // template, framework, compliance
  std::string id;
  Json body;
  int64_t updatedAtMs = 0;
};

struct ConversationRecord {
  std::string id;
  std::string userId;
  std::string title;
  int64_t messageCount = 0;
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;
};

struct MessageRecord {
  std::string id;
  std::string conversationId;
  std::string userId;
  std::string role;        // user, assistant
  std::string content;     // the text shown to the user
  std::string runId;
  Json metadata;           // tokens, cost, model, artifact ids
  int64_t createdAtMs = 0;
};

struct ArtifactRecord {
  std::string id;
  std::string conversationId;
  std::string userId;
  std::string runId;
  std::string contentType;
  std::string content;
  int64_t wordCount = 0;
  std::string status;      // complete, incomplete
  Json metadata;
  int64_t createdAtMs = 0;
};

struct RunEvent {
  int64_t sequence = 0;    // 1, 2, 3, ... per run
  std::string event;
  std::string data;
};

// A batch of run events as one text, for stores that keep a run's events in
// one row instead of a row per event (a turn has ~240 events; a row each cost
// the database more CPU than the rest of the turn). Each event's data is
// already text (JSON), so it is copied as it is behind its length, not escaped
// into a JSON string (escaping every quote of ~240 JSON events per turn cost
// 2 % of the server's CPU):
//   mx-events 2\n
//   <seq> <event> <bytes of data>\n<data>\n      (for each event)
// except that an artifact's delta (EventSink::emitArtifactDelta's event:
// "artifact", {"artifactId":…,"content":…,"type":"delta"}) is kept as its
// text alone, ~30 bytes instead of ~80 for each of a turn's ~200 deltas:
//   <seq> artifact~<artifactId> <bytes of text>\n<text>\n
// Version 1 batches (the same without delta records) are read as before.
// A batch is written in the earlier format, runEventsJson's (which
// readRunEvents reads as well), when an event name is empty or has a space,
// line break or '~', or some data is not text a database keeps as it is (a
// NUL byte, invalid UTF-8): the escaped form is safe for any bytes.
inline constexpr std::string_view kRunEventsTextHeader = "mx-events 2\n";
inline constexpr std::string_view kRunEventsTextHeaderV1 = "mx-events 1\n";
inline constexpr std::string_view kArtifactDeltaRecord = "artifact~";

// The data of an artifact delta event, as EventSink::emitArtifactDelta's
// default writes it (keys in order), in two parts: the head naming the
// artifact (the same for all its deltas: a host may write it once), then the
// text and the end.
inline void appendArtifactDeltaHead(std::string& out, std::string_view artifactId) {
  out.append("{\"artifactId\":");
  appendJsonString(out, artifactId);
  out.append(",\"content\":");
}

inline void appendArtifactDeltaText(std::string& out, std::string_view text) {
  appendJsonString(out, text);
  out.append(",\"type\":\"delta\"}");
}

inline void appendArtifactDeltaData(std::string& out, std::string_view artifactId, std::string_view text) {
  appendArtifactDeltaHead(out, artifactId);
  appendArtifactDeltaText(out, text);
}

// The earlier format: [[seq,"event","data"],...].
inline std::string runEventsJson(const std::vector<RunEvent>& events) {
  size_t size = 2;
  for (const auto& e : events) size += e.event.size() + e.data.size() + 32;
  std::string out;
  out.reserve(size);
  out.push_back('[');
  for (const auto& e : events) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('[');
    out.append(std::to_string(e.sequence));
    out.push_back(',');
    appendJsonString(out, e.event);
    out.push_back(',');
    appendJsonString(out, e.data);
    out.push_back(']');
  }
  out.push_back(']');
  return out;
}

namespace store_detail {

// Valid UTF-8 without NUL bytes (a text column takes it as it is); plain
// ASCII is checked sixteen bytes at a time with SSE2, else eight.
inline bool storableText(std::string_view text) {
  using namespace json_text_detail;
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes a step while none is NUL or non-ASCII (a signed compare: 0x80 and up are negative).
  const __m128i one = _mm_set1_epi8(1);
  while (i + 16 <= text.size() &&
         _mm_movemask_epi8(_mm_cmplt_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i)), one)) == 0) {
    i += 16;
  }
#endif
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t word = word8(text.data() + i);
      if (allAscii(word) && !anyByteBelow(word, 1)) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = json_text_detail::utf8Length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

}  // namespace store_detail

// A run's events as the one stored batch (SDK ABI 2.0: RunRecord carries
// this, not a RunEvent per event): the host writes its event log straight
// into the text a store keeps.
struct RunEventBatch {
  std::string text;  // runEventsText's form (runEventsJson's when an event needs it); empty without events
  int64_t firstSequence = 0;
  int64_t lastSequence = 0;
  size_t count = 0;
  bool empty() const { return count == 0; }
};

// Builds a RunEventBatch one event at a time, in sequence order, in the text
// form; when an event cannot be written so (see above), it switches to the
// escaped form for the whole batch.
class RunEventBatchWriter {
 public:
  void add(int64_t sequence, std::string_view event, std::string_view data) {
    count(sequence);
    if (!escaped_ && (!plainName(event) || !store_detail::storableText(data))) switchToEscaped();
    if (escaped_) {
      fallback_.push_back({sequence, std::string(event), std::string(data)});
      return;
    }
    record(sequence, {event}, data);
  }

  // The event "artifact" with appendArtifactDeltaData's data, kept as the text alone.
  void addArtifactDelta(int64_t sequence, std::string_view artifactId, std::string_view text) {
    count(sequence);
    // An artifact's deltas come in runs: its id is checked once a run (and an empty one always).
    if (!escaped_ && (plainArtifactId_.empty() || artifactId != plainArtifactId_)) {
      if (plainName(artifactId)) {
        plainArtifactId_.assign(artifactId);
      } else {
        switchToEscaped();
      }
    }
    if (!escaped_ && !store_detail::storableText(text)) switchToEscaped();
    if (escaped_) {
      std::string data;
      appendArtifactDeltaData(data, artifactId, text);
      fallback_.push_back({sequence, "artifact", std::move(data)});
      return;
    }
    record(sequence, {kArtifactDeltaRecord, artifactId}, text);
  }

  // Room for about this many bytes of text (saves regrowing a large batch).
  void reserve(size_t bytes) { text_.reserve(bytes); }

  RunEventBatch finish() && {
    RunEventBatch batch;
    batch.text = escaped_ ? runEventsJson(fallback_) : std::move(text_);
    batch.firstSequence = first_;
    batch.lastSequence = last_;
    batch.count = count_;
    return batch;
  }

 private:
  void switchToEscaped();
  void count(int64_t sequence) {
    if (count_ == 0) {
      first_ = sequence;
      text_.append(kRunEventsTextHeader);
    }
    last_ = sequence;
    ++count_;
  }
  // "<seq> <name parts> <bytes>\n", then the data and its line end: sized once and copied in
  // (numbers by to_chars; an append per piece was ~200 instructions an event).
  void record(int64_t sequence, std::initializer_list<std::string_view> name, std::string_view data) {
    char sequenceText[24];
    char bytesText[24];
    size_t sequenceLength = static_cast<size_t>(std::to_chars(sequenceText, sequenceText + sizeof sequenceText, sequence).ptr - sequenceText);
    size_t bytesLength = static_cast<size_t>(std::to_chars(bytesText, bytesText + sizeof bytesText, data.size()).ptr - bytesText);
    size_t nameLength = 0;
    for (std::string_view part : name) nameLength += part.size();
    size_t start = text_.size();
    text_.resize(start + sequenceLength + 1 + nameLength + 1 + bytesLength + 1 + data.size() + 1);
    char* at = text_.data() + start;
    auto put = [&at](const char* bytes, size_t length) {
      if (length == 0) return;  // an empty view's pointer may be null
      std::memcpy(at, bytes, length);
      at += length;
    };
    put(sequenceText, sequenceLength);
    *at++ = ' ';
    for (std::string_view part : name) put(part.data(), part.size());
    *at++ = ' ';
    put(bytesText, bytesLength);
    *at++ = '\n';
    put(data.data(), data.size());
    *at = '\n';
  }
  // A name the text form holds: not empty, no space, line break or '~' (delta records), valid UTF-8 without NUL.
  static bool plainName(std::string_view event) {
    if (event.empty()) return false;
    for (char c : event) {
      if (c == ' ' || c == '\n' || c == '~') return false;
    }
    return store_detail::storableText(event);
  }

  std::string text_;
  std::string plainArtifactId_;     // the last artifact id a delta record was written with
  std::vector<RunEvent> fallback_;  // every event, once the batch is written escaped
  bool escaped_ = false;
  int64_t first_ = 0;
  int64_t last_ = 0;
  size_t count_ = 0;
};

inline RunEventBatch runEventBatch(const std::vector<RunEvent>& events) {
  RunEventBatchWriter writer;
  for (const auto& e : events) writer.add(e.sequence, e.event, e.data);
  return std::move(writer).finish();
}

inline std::string runEventsText(const std::vector<RunEvent>& events) { return runEventBatch(events).text; }

namespace store_detail {

// The digits at `at` as a number (an optional '-' first); advances `at`. False if there are none.
inline bool readInteger(std::string_view text, size_t& at, int64_t& value) {
  bool negative = at < text.size() && text[at] == '-';
  size_t digitsFrom = at + (negative ? 1 : 0);
  size_t end = digitsFrom;
  uint64_t number = 0;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9' && end - digitsFrom < 18) {
    number = number * 10 + static_cast<uint64_t>(text[end] - '0');
    ++end;
  }
  if (end == digitsFrom) return false;
  value = negative ? -static_cast<int64_t>(number) : static_cast<int64_t>(number);
  at = end;
  return true;
}

// `deltaRecords`: a version 2 batch, whose "artifact~<id>" records are artifact deltas.
inline bool readRunEventsText(std::string_view text, int64_t after, std::vector<RunEvent>& out, bool deltaRecords) {
  size_t at = kRunEventsTextHeader.size();
  while (at < text.size()) {
    int64_t sequence = 0;
    int64_t bytes = 0;
    if (!readInteger(text, at, sequence) || at >= text.size() || text[at++] != ' ') return false;
    size_t space = text.find(' ', at);
    if (space == std::string_view::npos || space == at || text.substr(at, space - at).find('\n') != std::string_view::npos) return false;
    std::string_view event = text.substr(at, space - at);
    at = space + 1;
    if (!readInteger(text, at, bytes) || bytes < 0 || at >= text.size() || text[at++] != '\n') return false;
    if (static_cast<uint64_t>(bytes) + 1 > text.size() - at || text[at + static_cast<size_t>(bytes)] != '\n') return false;
    std::string_view data = text.substr(at, static_cast<size_t>(bytes));
    at += static_cast<size_t>(bytes) + 1;
    if (sequence <= after || (!out.empty() && sequence <= out.back().sequence)) continue;
    if (deltaRecords && event.substr(0, kArtifactDeltaRecord.size()) == kArtifactDeltaRecord) {
      RunEvent delta{sequence, "artifact", {}};
      appendArtifactDeltaData(delta.data, event.substr(kArtifactDeltaRecord.size()), data);
      out.push_back(std::move(delta));
      continue;
    }
    out.push_back({sequence, std::string(event), std::string(data)});
  }
  return true;
}

inline bool readRunEventsJson(std::string_view text, int64_t after, std::vector<RunEvent>& out) {
  Json batch = Json::parse(text, nullptr, false);
  if (!batch.is_array()) return false;
  for (const auto& item : batch) {
    if (!item.is_array() || item.size() != 3 || !item[0].is_number_integer() || !item[1].is_string() || !item[2].is_string()) {
      return false;
    }
    int64_t sequence = item[0].get<int64_t>();
    if (sequence <= after || (!out.empty() && sequence <= out.back().sequence)) continue;
    out.push_back({sequence, item[1].get<std::string>(), item[2].get<std::string>()});
  }
  return true;
}

}  // namespace store_detail

// Appends the events of a batch written by runEventsText (or runEventsJson)
// whose sequence is above `after` (a store may hold overlapping batches: each
// sequence is taken once, from the first batch that has it; batches must come
// in order of their first sequence). False if the text is not such a batch;
// `out` may then hold some of its events.
inline bool readRunEvents(std::string_view text, int64_t after, std::vector<RunEvent>& out) {
  static_assert(kRunEventsTextHeader.size() == kRunEventsTextHeaderV1.size());
  std::string_view header = text.substr(0, kRunEventsTextHeader.size());
  if (header == kRunEventsTextHeader || header == kRunEventsTextHeaderV1) {
    return store_detail::readRunEventsText(text, after, out, header == kRunEventsTextHeader);
  }
  return store_detail::readRunEventsJson(text, after, out);
}

// The events written so far are read back from the text form; from here on
// the batch collects events and is written escaped at the end.
inline void RunEventBatchWriter::switchToEscaped() {
  escaped_ = true;
  if (!text_.empty()) store_detail::readRunEventsText(text_, INT64_MIN, fallback_, true);
  text_.clear();
}

// The events of a batch (any form); empty when the text is not a batch.
inline std::vector<RunEvent> eventsOf(const RunEventBatch& batch) {
  std::vector<RunEvent> events;
  if (!batch.empty() && !readRunEvents(batch.text, INT64_MIN, events)) events.clear();
  return events;
}

// The name earlier versions of this header gave readRunEvents.
inline bool appendRunEventsFromJson(std::string_view text, int64_t after, std::vector<RunEvent>& out) {
  return readRunEvents(text, after, out);
}

struct Page {
  int limit = 20;
  int offset = 0;
};

class Store : public Component {
 public:
  // "sqlite", "postgres", ...
  virtual std::string backendName() const = 0;
  // Vector size the store indexes; 0 if it takes whatever comes first.
  virtual int embeddingDimensions() const = 0;

  // Resources. putResource stores the resource and its chunks atomically.
  virtual Status putResource(const ResourceRecord& resource, const std::vector<ChunkRecord>& chunks) = 0;
  virtual Result<std::vector<ResourceRecord>> listResources(std::string_view userId, Page page) = 0;
  virtual Result<ResourceRecord> getResource(std::string_view userId, std::string_view resourceId) = 0;
  virtual Status deleteResource(std::string_view userId, std::string_view resourceId) = 0;
  virtual Result<std::vector<SearchHit>> searchText(const SearchQuery& query) = 0;
  virtual Result<std::vector<SearchHit>> searchVector(const SearchQuery& query) = 0;

  // Canon overrides (the shipped defaults live in files, not here).
  virtual Result<std::vector<CanonEntry>> listCanon(std::string_view userId, std::string_view contentType) = 0;
  virtual Status putCanon(const CanonEntry& entry) = 0;
  virtual Status deleteCanon(std::string_view userId, std::string_view contentType, std::string_view category,
                             std::string_view id) = 0;

  // Conversations, their messages and artifacts.
  virtual Status putConversation(const ConversationRecord& conversation) = 0;
  virtual Result<ConversationRecord> getConversation(std::string_view userId, std::string_view id) = 0;
  virtual Result<std::vector<ConversationRecord>> listConversations(std::string_view userId, Page page) = 0;
  // Deletes the conversation with its messages, artifacts, run events and checkpoints.
  virtual Status deleteConversation(std::string_view userId, std::string_view id) = 0;
  virtual Status appendMessage(const MessageRecord& message) = 0;
  virtual Result<std::vector<MessageRecord>> listMessages(std::string_view userId, std::string_view conversationId) = 0;
  virtual Status putArtifact(const ArtifactRecord& artifact) = 0;
  virtual Result<ArtifactRecord> getArtifact(std::string_view userId, std::string_view id) = 0;
  virtual Result<std::vector<ArtifactRecord>> listArtifacts(std::string_view userId, std::string_view conversationId) = 0;

  // Run event logs (for replay after a reconnect).
  virtual Status appendRunEvents(std::string_view userId, std::string_view conversationId, std::string_view runId,
                                 const std::vector<RunEvent>& events) = 0;
  virtual Result<std::vector<RunEvent>> runEvents(std::string_view userId, std::string_view runId, int64_t after) = 0;

  // Graph checkpoints, kept by this store.
  virtual std::shared_ptr<Checkpointer> checkpointer() = 0;
};

// What a finished run leaves in the store: its artifacts, the assistant's
// message when it completed, and its events; the conversation's message
// count grows by one per message and its updated_at is set.
struct RunRecord {
  std::string userId;
  std::string conversationId;
  std::string runId;
  std::vector<ArtifactRecord> artifacts;
  std::optional<MessageRecord> assistantMessage;
  int64_t updatedAtMs = 0;
  RunEventBatch events;  // the whole event log, "done" last
};

// Optional, beside Store (the host finds it with dynamic_cast; SDK ABI 1.3):
// a store that saves a turn's beginning and a finished run each in one round
// trip and one transaction, instead of a call per artifact, message,
// conversation and event batch.
// NotFound (saving nothing) when the conversation is gone or another user's.
// Thread-safety and blocking: as Store.
class RunRecordStore {
 public:
  virtual ~RunRecordStore() = default;
  // A turn begins: the conversation is created (message count 1) or its
  // count grows by one and updated_at is set (title and created_at of an
  // existing one stay), and the user's message is added. Returns the count.
  virtual Result<int64_t> beginTurn(const ConversationRecord& conversation, const MessageRecord& userMessage) = 0;
  virtual Status saveRun(const RunRecord& run) = 0;
};

// Optional beside Store (SDK ABI 2.2; the host finds it with dynamic_cast, as
// RunRecordStore): a store that keeps the deployment's graph checkpoints
// saves a finished run together with the run's last checkpoint, in one round
// trip and one transaction, instead of the checkpoint first and the run after.
// `checkpointText` == checkpointText(checkpoint) and is what is kept; the
// checkpoint's state may be null (the text has it), and both are only lent
// for the call. The checkpoint is saved as Checkpointer::save saves it (the
// store's checkpointer's retention; the step's pending writes cleared).
// NotFound, saving nothing (the checkpoint neither), when the conversation is
// gone or another user's. Thread-safety and blocking: as Store.
class RunCheckpointStore {
 public:
  virtual ~RunCheckpointStore() = default;
  virtual Status saveRunWithCheckpoint(const RunRecord& run, const Checkpoint& checkpoint,
                                       const std::string& checkpointText) = 0;
};

// One finished run of a batch: the run, and its last checkpoint when the
// store keeps the checkpoints (as saveRunWithCheckpoint takes them), else
// null. Both lent for the call.
struct RunSave {
  const RunRecord* run = nullptr;
  const Checkpoint* checkpoint = nullptr;  // null: the run alone
  const std::string* checkpointText = nullptr;  // checkpointText(*checkpoint) when there is one
};

// Optional beside Store (SDK ABI 3.1; the host finds it with dynamic_cast):
// group commit. While one save goes on, other runs finish; the host hands
// them over together, and a store that can saves them in fewer statements,
// round trips and commits than one each. Each run is saved as saveRun or
// saveRunWithCheckpoint would save it, all of it or none; one run's failure
// (NotFound: its conversation is gone or another user's) leaves the others
// saved. Two runs of one conversation may come in one batch, in the order
// they finished. Returns one status per run, in order.
// Thread-safety and blocking: as Store.
class RunBatchStore {
 public:
  virtual ~RunBatchStore() = default;
  virtual std::vector<Status> saveRuns(const std::vector<RunSave>& runs) = 0;
};

}  // namespace mx
