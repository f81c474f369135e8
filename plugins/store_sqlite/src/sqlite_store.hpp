// SqliteStore — the embedded default's store: one SQLite file in the data
// directory (WAL mode, a small connection pool), versioned migrations applied
// at open, FTS5 (porter stemming) for full-text search, and an in-memory
// per-user vector index (vector_index.hpp) rebuilt from the chunks at open
// and kept consistent with every insert and delete.
// Thread-safety: every method may be called concurrently.
// Blocking: every call blocks on SQLite (milliseconds).
#pragma once

#include <memory>
#include <string>

#include "mx/store.hpp"
#include "sqlite_checkpointer.hpp"
#include "sqlite_db.hpp"
#include "vector_index.hpp"
#include "wal_checkpointer.hpp"

namespace mx::sqlite {

struct StoreConfig {
  std::string path;                  // the database file
  int dimensions = 256;              // embedding size indexed
  size_t poolSize = 4;
  int busyTimeoutMs = 5000;
  size_t hnswThreshold = 2000;       // per user: exact search below, HNSW from here
  size_t checkpointRetention = 20;
  int64_t walCheckpointPages = WalPolicy{}.checkpointPages;  // the WAL checkpointer's threshold (wal_checkpointer.hpp)
  int64_t walIdleCheckpointMs = WalPolicy{}.idleCheckpoint.count();  // commits stopped this long: the WAL copied and truncated (0: never)
  Logger* logger = nullptr;           // the component's; may be null
};

class SqliteStore final : public Store, public RunRecordStore, public RunCheckpointStore, public RunBatchStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> open(StoreConfig config);

  std::string backendName() const override { return "sqlite"; }
  int embeddingDimensions() const override { return config_.dimensions; }
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

  // One transaction each: the conversation and the user's message; the
  // conversation's count and time, the artifacts, the message and the event
  // batch (and the run's last checkpoint, with saveRunWithCheckpoint).
  Result<int64_t> beginTurn(const ConversationRecord& conversation, const MessageRecord& userMessage) override;
  Status saveRun(const RunRecord& run) override;
  Status saveRunWithCheckpoint(const RunRecord& run, const Checkpoint& checkpoint, const std::string& checkpointText) override;
  // Group commit: every run in one transaction (each in a savepoint, so one
  // run's failure leaves the others): one commit, and a page the runs share
  // (an index's last leaf) written to the WAL once instead of once a run.
  std::vector<Status> saveRuns(const std::vector<RunSave>& runs) override;
  Status appendRunEvents(std::string_view userId, std::string_view conversationId, std::string_view runId,
                         const std::vector<RunEvent>& events) override;
  Result<std::vector<RunEvent>> runEvents(std::string_view userId, std::string_view runId, int64_t after) override;

  std::shared_ptr<Checkpointer> checkpointer() override { return checkpointer_; }
  const VectorIndex& vectorIndex() const { return *index_; }

 private:
  explicit SqliteStore(StoreConfig config) : config_(std::move(config)) {}
  Status migrate();
  Status loadVectors();
  // saveRun, and the checkpoint too when there is one, in one transaction.
  Status saveRunAndMaybeCheckpoint(const RunRecord& run, const Checkpoint* checkpoint, const std::string* checkpointText);
  // The run's parts, in the transaction open on `db`.
  Status saveRunParts(Connection& db, const RunRecord& run, const Checkpoint* checkpoint, const std::string* checkpointText);
  Result<std::vector<SearchHit>> hitsForRowids(const std::vector<std::pair<int64_t, float>>& ranked);
  // The FTS5 terms worth ranking by for `words` (quoted): see searchText.
  Result<std::string> selectiveTerms(Connection& db, const std::vector<std::string>& words);
  static constexpr int64_t kRankBudget = 600;   // chunks BM25 may score per query
  static constexpr size_t kMaxQueryWords = 12;

  StoreConfig config_;
  std::unique_ptr<WalCheckpointer> wal_;  // declared before the pool: the pool's connections report to it
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<VectorIndex> index_;
  std::shared_ptr<SqliteCheckpointer> checkpointer_;
};

// The words of free text for FTS5, lower-case, quoted, each once.
std::vector<std::string> ftsWords(std::string_view text);
// FTS5 query for free text: its words, quoted, joined with OR ("" if none).
std::string ftsQuery(std::string_view text);

}  // namespace mx::sqlite
