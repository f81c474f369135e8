// PostgresStore — the PostgreSQL store (PostgreSQL 15+, as on Supabase):
// versioned migrations at open (pg_migrations.hpp), a pool of libpqxx
// connections (pg_pool.hpp) with statements prepared once per connection,
// tsvector full-text search (GIN index, ts_rank_cd), and vector search either
// through pgvector (vector(N), HNSW index, cosine distance) or, on a server
// without pgvector, an exact cosine scan in SQL. Every query is filtered by
// the user id; chunks carry their resource's type so filtered vector searches
// stay on one table.
// Thread-safety: every method may be called concurrently (one pooled
// connection per call). Blocking: every call blocks on the database.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "mx/store.hpp"
#include "pg_migrations.hpp"
#include "pg_pool.hpp"

namespace mx::pg {

struct StoreConfig {
  PoolConfig pool;
  SchemaOptions schema;
  size_t checkpointRetention = 20;
  int hnswEfSearch = 100;                     // pgvector: candidates per HNSW search
  std::string hnswIterativeScan = "strict_order";  // pgvector >= 0.8: keep scanning until filtered results suffice ("off" for older)
};

class PostgresCheckpointer;

class PostgresStore final : public Store, public RunRecordStore, public RunCheckpointStore, public RunBatchStore {
 public:
  static Result<std::unique_ptr<PostgresStore>> open(StoreConfig config);

  std::string backendName() const override { return "postgres"; }
  int embeddingDimensions() const override { return config_.schema.dimensions; }
  Status health() override;

  Status putResource(const ResourceRecord& resource, const std::vector<ChunkRecord>& chunks) override;
  Result<std::vector<ResourceRecord>> listResources(std::string_view userId, Page page) override;
  Result<ResourceRecord> getResource(std::string_view userId, std::string_view resourceId) override;
  Status deleteResource(std::string_view userId, std::string_view resourceId) override;
  Result<std::vector<SearchHit>> searchText(const SearchQuery& query) override;
  Result<std::vector<SearchHit>> searchVector(const SearchQuery& query) override;

  Result<std::vector<CanonEntry>> listCanon(std::string_view userId, std::string_view contentType) override;
  Status putCanon(const CanonEntry& entry) override;
  Status deleteCanon(std::string_view userId, std::string_view contentType, std::string_view category,
                     std::string_view id) override;

  Status putConversation(const ConversationRecord& conversation) override;
  Result<ConversationRecord> getConversation(std::string_view userId, std::string_view id) override;
  Result<std::vector<ConversationRecord>> listConversations(std::string_view userId, Page page) override;
  Status deleteConversation(std::string_view userId, std::string_view id) override;
  Status appendMessage(const MessageRecord& message) override;
  Result<std::vector<MessageRecord>> listMessages(std::string_view userId, std::string_view conversationId) override;
  Status putArtifact(const ArtifactRecord& artifact) override;
  Result<ArtifactRecord> getArtifact(std::string_view userId, std::string_view id) override;
  Result<std::vector<ArtifactRecord>> listArtifacts(std::string_view userId, std::string_view conversationId) override;

  // One statement each: the conversation and the user's message; the
  // conversation's count and time, the artifacts, the message and the event
  // batch.
  Result<int64_t> beginTurn(const ConversationRecord& conversation, const MessageRecord& userMessage) override;
  Status saveRun(const RunRecord& run) override;
  Status saveRunWithCheckpoint(const RunRecord& run, const Checkpoint& checkpoint, const std::string& checkpointText) override;
  // Group commit: up to kMostRunsPerStatement runs a statement (pg_run_batch.hpp), one round trip and
  // one commit for them; a run alone, or the runs of a statement that failed, one statement each.
  std::vector<Status> saveRuns(const std::vector<RunSave>& runs) override;
  Status appendRunEvents(std::string_view userId, std::string_view conversationId, std::string_view runId,
                         const std::vector<RunEvent>& events) override;
  Result<std::vector<RunEvent>> runEvents(std::string_view userId, std::string_view runId, int64_t after) override;

  std::shared_ptr<Checkpointer> checkpointer() override;
  // The versions the last open applied (empty when the schema was current).
  const std::vector<int>& appliedMigrations() const { return applied_; }

 private:
  explicit PostgresStore(StoreConfig config) : config_(std::move(config)) {}
  Status checkDimensions(const std::vector<float>& embedding, const char* what) const;
  Status saveOne(const RunSave& save);
  // runs[begin, end) in one statement: the conversations it updated, or the statement's failure.
  Result<std::set<std::string>> saveTogether(const std::vector<RunSave>& runs, size_t begin, size_t end);

  StoreConfig config_;
  std::unique_ptr<Pool> pool_;
  std::shared_ptr<PostgresCheckpointer> checkpointer_;
  std::vector<int> applied_;
};

}  // namespace mx::pg
