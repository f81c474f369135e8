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

#include <cstdint>
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
// the database more CPU than the rest of the turn): [[seq,"event","data"],...].
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

// Appends the events of a batch written by runEventsJson whose sequence is
// above `after` (a store may hold overlapping batches: each sequence is taken
// once, from the first batch that has it; batches must come in order of their
// first sequence). False if the text is not such a batch.
inline bool appendRunEventsFromJson(std::string_view text, int64_t after, std::vector<RunEvent>& out) {
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
  std::vector<RunEvent> events;
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

}  // namespace mx
