#include "sqlite_store.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "mx_common/search_words.hpp"
#include "mx/json_parse.hpp"

namespace mx::sqlite {

namespace {

// Migration n brings the schema from version n to n + 1.
const std::vector<std::string> kMigrations = {
    R"SQL(
CREATE TABLE resources (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, title TEXT NOT NULL, resource_type TEXT NOT NULL,
  format TEXT NOT NULL, content TEXT NOT NULL, chunk_count INTEGER NOT NULL, embedding_model TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX resources_by_user ON resources(user_id, created_at);
CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  resource_id TEXT NOT NULL REFERENCES resources(id) ON DELETE CASCADE, user_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL, embedding BLOB);
CREATE INDEX chunks_by_resource ON chunks(resource_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading, content='chunks', content_rowid='rowid', tokenize='porter unicode61');
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.rowid, new.text, new.heading);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) VALUES ('delete', old.rowid, old.text, old.heading);
END;
CREATE TABLE canon (user_id TEXT NOT NULL, content_type TEXT NOT NULL, category TEXT NOT NULL, id TEXT NOT NULL,
  body TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (user_id, content_type, category, id));
CREATE TABLE conversations (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, title TEXT NOT NULL,
  message_count INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX conversations_by_user ON conversations(user_id, updated_at);
CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, run_id TEXT NOT NULL, metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE TABLE artifacts (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, user_id TEXT NOT NULL, run_id TEXT NOT NULL,
  content_type TEXT NOT NULL, content TEXT NOT NULL, word_count INTEGER NOT NULL, status TEXT NOT NULL,
  metadata TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX artifacts_by_conversation ON artifacts(conversation_id, created_at);
CREATE TABLE run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  event TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq));
CREATE INDEX run_events_by_conversation ON run_events(conversation_id);
CREATE TABLE checkpoints (seq INTEGER PRIMARY KEY AUTOINCREMENT, thread_id TEXT NOT NULL, run_id TEXT NOT NULL,
  step INTEGER NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX checkpoints_by_thread ON checkpoints(thread_id, run_id, seq);
CREATE TABLE pending_writes (thread_id TEXT NOT NULL, run_id TEXT NOT NULL, step INTEGER NOT NULL, node TEXT NOT NULL,
  update_json TEXT NOT NULL);
CREATE INDEX pending_writes_by_run ON pending_writes(thread_id, run_id, step);
)SQL",
    // A run's events in one row per append instead of a row per event (~240 per turn).
    R"SQL(
CREATE TABLE run_event_batches (run_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
  user_id TEXT NOT NULL, conversation_id TEXT NOT NULL, events TEXT NOT NULL, PRIMARY KEY (run_id, first_seq));
CREATE INDEX run_event_batches_by_conversation ON run_event_batches(conversation_id);
INSERT INTO run_event_batches(run_id, first_seq, last_seq, user_id, conversation_id, events)
  SELECT run_id, min(seq), max(seq), user_id, conversation_id, json_group_array(json_array(seq, event, data))
  FROM (SELECT * FROM run_events ORDER BY run_id, seq) GROUP BY run_id, user_id, conversation_id;
DROP TABLE run_events;
)SQL"};

std::string placeholders(size_t count, int first) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += (i ? ",?" : "?") + std::to_string(first + static_cast<int>(i));
  return out;
}

ResourceRecord readResource(Statement& s) {
  ResourceRecord r;
  r.id = s.text(0);
  r.userId = s.text(1);
  r.title = s.text(2);
  r.resourceType = s.text(3);
  r.format = s.text(4);
  r.content = s.text(5);
  r.chunkCount = s.integer(6);
  r.embeddingModel = s.text(7);
  r.createdAtMs = s.integer(8);
  return r;
}

ConversationRecord readConversation(Statement& s) {
  return {s.text(0), s.text(1), s.text(2), s.integer(3), s.integer(4), s.integer(5)};
}

ArtifactRecord readArtifact(Statement& s) {
  ArtifactRecord a;
  a.id = s.text(0);
  a.conversationId = s.text(1);
  a.userId = s.text(2);
  a.runId = s.text(3);
  a.contentType = s.text(4);
  a.content = s.text(5);
  a.wordCount = s.integer(6);
  a.status = s.text(7);
  a.metadata = parseJson(s.text(8));
  a.createdAtMs = s.integer(9);
  return a;
}

constexpr const char* kResourceColumns = "id, user_id, title, resource_type, format, content, chunk_count, embedding_model, created_at";
constexpr const char* kArtifactColumns =
    "id, conversation_id, user_id, run_id, content_type, content, word_count, status, metadata, created_at";

// Another user's artifact id updates nothing (the caller answers NotFound).
Status insertArtifact(Connection& db, const ArtifactRecord& a) {
  return db.prepare(std::string("INSERT INTO artifacts(") + kArtifactColumns + ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) "
                    "ON CONFLICT(id) DO UPDATE SET content=excluded.content, word_count=excluded.word_count, "
                    "status=excluded.status, metadata=excluded.metadata WHERE artifacts.user_id = excluded.user_id")
      .bind(1, a.id).bind(2, a.conversationId).bind(3, a.userId).bind(4, a.runId).bind(5, a.contentType).bind(6, a.content)
      .bind(7, a.wordCount).bind(8, a.status).bind(9, (a.metadata.is_null() ? Json::object() : a.metadata).dump())
      .bind(10, a.createdAtMs).run();
}

Status insertMessage(Connection& db, const MessageRecord& m) {
  return db.prepare("INSERT INTO messages(id, conversation_id, user_id, role, content, run_id, metadata, created_at, seq) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,(SELECT COALESCE(MAX(seq),0)+1 FROM messages WHERE conversation_id=?2))")
      .bind(1, m.id).bind(2, m.conversationId).bind(3, m.userId).bind(4, m.role).bind(5, m.content).bind(6, m.runId)
      .bind(7, (m.metadata.is_null() ? Json::object() : m.metadata).dump()).bind(8, m.createdAtMs).run();
}

Status insertRunEvents(Connection& db, std::string_view userId, std::string_view conversationId, std::string_view runId,
                       const RunEventBatch& events) {
  if (events.empty()) return Status::ok();
  return db.prepare("INSERT OR IGNORE INTO run_event_batches(run_id, first_seq, last_seq, user_id, conversation_id, events) "
                    "VALUES(?1,?2,?3,?4,?5,?6)")
      .bind(1, runId).bind(2, events.firstSequence).bind(3, events.lastSequence).bind(4, userId)
      .bind(5, conversationId).bind(6, events.text).run();
}

}  // namespace

std::vector<std::string> ftsWords(std::string_view text) {
  std::vector<std::string> words = common::searchWords(text);
  for (auto& word : words) word = "\"" + word + "\"";
  return words;
}

std::string ftsQuery(std::string_view text) {
  std::string query;
  for (const auto& word : ftsWords(text)) query += (query.empty() ? "" : " OR ") + word;
  return query;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(StoreConfig config) {
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(config.path).parent_path(), ignored);
  std::unique_ptr<SqliteStore> store(new SqliteStore(config));
  auto waits = std::make_shared<WriteLockWaits>();
  WalPolicy policy;
  policy.checkpointPages = config.walCheckpointPages;
  policy.idleCheckpoint = std::chrono::milliseconds(config.walIdleCheckpointMs);
  auto checkpointer = WalCheckpointer::start(config.path, policy, waits, config.logger);
  if (!checkpointer) return checkpointer.status();
  store->wal_ = std::move(*checkpointer);
  auto pool = Pool::open(config.path, config.poolSize, config.busyTimeoutMs, waits,
                         [wal = store->wal_.get()](Connection& connection) { return wal->watch(connection); });
  if (!pool) return pool.status();
  store->pool_ = std::move(*pool);
  MX_RETURN_IF_ERROR(store->migrate());
  store->index_ = std::make_unique<VectorIndex>(config.dimensions, config.hnswThreshold);
  MX_RETURN_IF_ERROR(store->loadVectors());
  store->checkpointer_ = std::make_shared<SqliteCheckpointer>(*store->pool_, config.checkpointRetention);
  return store;
}

Status SqliteStore::migrate() {
  auto db = pool_->acquire();
  int64_t current = 0;
  {
    auto version = db->prepare("PRAGMA user_version");  // reset before the migrations: a running statement locks tables
    current = version.step() ? version.integer(0) : 0;
  }
  if (current > static_cast<int64_t>(kMigrations.size())) {
    return failedPreconditionError("database " + config_.path + " has schema version " + std::to_string(current) +
                                   ", newer than this build knows (" + std::to_string(kMigrations.size()) + ")");
  }
  for (auto v = static_cast<size_t>(current); v < kMigrations.size(); ++v) {
    Transaction tx(*db);
    MX_RETURN_IF_ERROR(tx.begun());
    MX_RETURN_IF_ERROR(db->execScript(kMigrations[v]).withContext("migration " + std::to_string(v + 1)));
    MX_RETURN_IF_ERROR(db->execScript("PRAGMA user_version = " + std::to_string(v + 1)));
    MX_RETURN_IF_ERROR(tx.commit());
  }
  return Status::ok();
}

Status SqliteStore::loadVectors() {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT c.rowid, c.user_id, c.resource_id, r.resource_type, c.embedding FROM chunks c "
                       "JOIN resources r ON r.id = c.resource_id WHERE c.embedding IS NOT NULL");
  while (s.step()) {
    auto vector = s.floats(4);
    if (static_cast<int>(vector.size()) != config_.dimensions) continue;  // made by another embedder size
    index_->add(s.text(1), s.integer(0), std::move(vector), {s.text(2), s.text(3)});
  }
  return s.status();
}

Status SqliteStore::health() {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT 1");
  s.step();
  return s.status();
}

Status SqliteStore::putResource(const ResourceRecord& resource, const std::vector<ChunkRecord>& chunks) {
  for (const auto& chunk : chunks) {
    if (!chunk.embedding.empty() && static_cast<int>(chunk.embedding.size()) != config_.dimensions) {
      return invalidArgumentError("chunk embedding has " + std::to_string(chunk.embedding.size()) +
                                  " dimensions; this store indexes " + std::to_string(config_.dimensions));
    }
  }
  std::vector<std::pair<int64_t, const ChunkRecord*>> inserted;
  {
    auto db = pool_->acquire();
    Transaction tx(*db);
    MX_RETURN_IF_ERROR(tx.begun());
    MX_RETURN_IF_ERROR(db->prepare(std::string("INSERT INTO resources(") + kResourceColumns + ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")
                           .bind(1, resource.id).bind(2, resource.userId).bind(3, resource.title).bind(4, resource.resourceType)
                           .bind(5, resource.format).bind(6, resource.content).bind(7, static_cast<int64_t>(chunks.size()))
                           .bind(8, resource.embeddingModel).bind(9, resource.createdAtMs).run());
    for (const auto& chunk : chunks) {
      auto s = db->prepare("INSERT INTO chunks(id, resource_id, user_id, ordinal, heading, text, embedding) VALUES(?1,?2,?3,?4,?5,?6,?7)");
      s.bind(1, chunk.id).bind(2, resource.id).bind(3, resource.userId).bind(4, chunk.ordinal).bind(5, chunk.heading).bind(6, chunk.text);
      if (chunk.embedding.empty()) {
        s.bindNull(7);
      } else {
        s.bindBlob(7, chunk.embedding.data(), chunk.embedding.size() * sizeof(float));
      }
      MX_RETURN_IF_ERROR(s.run());
      inserted.emplace_back(sqlite3_last_insert_rowid(db->handle()), &chunk);
    }
    MX_RETURN_IF_ERROR(tx.commit());
  }
  for (const auto& [rowid, chunk] : inserted) {
    if (!chunk->embedding.empty()) index_->add(resource.userId, rowid, chunk->embedding, {resource.id, resource.resourceType});
  }
  return Status::ok();
}

Result<std::vector<ResourceRecord>> SqliteStore::listResources(std::string_view userId, Page page) {
  auto db = pool_->acquire();
  auto s = db->prepare(std::string("SELECT ") + kResourceColumns +
                       " FROM resources WHERE user_id = ?1 ORDER BY created_at DESC, id LIMIT ?2 OFFSET ?3");
  s.bind(1, userId).bind(2, static_cast<int64_t>(page.limit)).bind(3, static_cast<int64_t>(page.offset));
  std::vector<ResourceRecord> out;
  while (s.step()) {
    out.push_back(readResource(s));
    out.back().content.clear();  // lists carry metadata, not whole documents
  }
  MX_RETURN_IF_ERROR(s.status());
  return out;
}

Result<ResourceRecord> SqliteStore::getResource(std::string_view userId, std::string_view resourceId) {
  auto db = pool_->acquire();
  auto s = db->prepare(std::string("SELECT ") + kResourceColumns + " FROM resources WHERE id = ?1 AND user_id = ?2");
  s.bind(1, resourceId).bind(2, userId);
  if (s.step()) return readResource(s);
  MX_RETURN_IF_ERROR(s.status());
  return notFoundError("resource " + std::string(resourceId) + " not found");
}

Status SqliteStore::deleteResource(std::string_view userId, std::string_view resourceId) {
  std::vector<int64_t> rowids;
  {
    auto db = pool_->acquire();
    Transaction tx(*db);
    MX_RETURN_IF_ERROR(tx.begun());
    auto owned = db->prepare("SELECT 1 FROM resources WHERE id = ?1 AND user_id = ?2");
    owned.bind(1, resourceId).bind(2, userId);
    if (!owned.step()) {
      MX_RETURN_IF_ERROR(owned.status());
      return notFoundError("resource " + std::string(resourceId) + " not found");
    }
    auto chunks = db->prepare("SELECT rowid FROM chunks WHERE resource_id = ?1");
    chunks.bind(1, resourceId);
    while (chunks.step()) rowids.push_back(chunks.integer(0));
    MX_RETURN_IF_ERROR(chunks.status());
    MX_RETURN_IF_ERROR(db->prepare("DELETE FROM chunks WHERE resource_id = ?1").bind(1, resourceId).run());
    MX_RETURN_IF_ERROR(db->prepare("DELETE FROM resources WHERE id = ?1").bind(1, resourceId).run());
    MX_RETURN_IF_ERROR(tx.commit());
  }
  for (int64_t rowid : rowids) index_->remove(std::string(userId), rowid);
  return Status::ok();
}

Result<std::string> SqliteStore::selectiveTerms(Connection& db, const std::vector<std::string>& words) {
  // BM25 scores every chunk that matches any word (about a microsecond each),
  // and a word found in many chunks adds little to a score (its IDF is low).
  // So the words are taken rarest first while the chunks they match stay
  // within kRankBudget: the top results come from the rare words, as they
  // would with every word. Each count stops at the budget, so the check is
  // bounded too. If even the rarest word is past it, no word tells the chunks
  // apart (an AND of such words costs the walk of every long posting list):
  // the vector search ranks the query alone.
  auto count = [&](const std::string& terms) -> Result<int64_t> {
    auto s = db.prepare("SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ?1 LIMIT ?2)");
    s.bind(1, terms).bind(2, kRankBudget);
    int64_t n = s.step() ? s.integer(0) : 0;
    MX_RETURN_IF_ERROR(s.status());
    return n;
  };
  std::vector<std::pair<int64_t, std::string>> counted;
  for (size_t i = 0; i < words.size() && i < kMaxQueryWords; ++i) {
    auto n = count(words[i]);
    if (!n) return n.status();
    if (*n > 0) counted.emplace_back(*n, words[i]);
  }
  if (counted.empty()) return std::string();
  std::sort(counted.begin(), counted.end());
  std::string selected;
  int64_t budget = kRankBudget;
  for (const auto& [n, word] : counted) {
    if (n >= budget) break;
    budget -= n;
    selected += (selected.empty() ? "" : " OR ") + word;
  }
  return selected;
}

Result<std::vector<SearchHit>> SqliteStore::searchText(const SearchQuery& query) {
  auto words = ftsWords(query.text);
  if (words.empty()) return std::vector<SearchHit>{};
  auto db = pool_->acquire();
  auto terms = selectiveTerms(*db, words);
  if (!terms) return terms.status();
  if (terms->empty()) return std::vector<SearchHit>{};
  // The chosen terms match fewer than kRankBudget chunks: FTS5 ranks them all
  // (no row read yet), then only the best are joined and filtered by user.
  std::string sql =
      "SELECT c.id, c.resource_id, r.title, r.resource_type, c.heading, c.text, top.rank "
      "FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT " + std::to_string(kRankBudget) +
      ") AS top JOIN chunks c ON c.rowid = top.rowid JOIN resources r ON r.id = c.resource_id WHERE c.user_id = ?2";
  int next = 3;
  if (!query.resourceTypes.empty()) {
    sql += " AND r.resource_type IN (" + placeholders(query.resourceTypes.size(), next) + ")";
    next += static_cast<int>(query.resourceTypes.size());
  }
  if (!query.resourceIds.empty()) {
    sql += " AND r.id IN (" + placeholders(query.resourceIds.size(), next) + ")";
    next += static_cast<int>(query.resourceIds.size());
  }
  sql += " ORDER BY top.rank LIMIT ?" + std::to_string(next);
  auto s = db->prepare(sql);
  s.bind(1, *terms).bind(2, query.userId);
  int index = 3;
  for (const auto& type : query.resourceTypes) s.bind(index++, type);
  for (const auto& id : query.resourceIds) s.bind(index++, id);
  s.bind(index, static_cast<int64_t>(query.limit));
  std::vector<SearchHit> hits;
  while (s.step()) {
    hits.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), -s.real(6)});
  }
  MX_RETURN_IF_ERROR(s.status());
  return hits;
}

Result<std::vector<SearchHit>> SqliteStore::hitsForRowids(const std::vector<std::pair<int64_t, float>>& ranked) {
  if (ranked.empty()) return std::vector<SearchHit>{};
  std::string sql = "SELECT c.rowid, c.id, c.resource_id, r.title, r.resource_type, c.heading, c.text FROM chunks c "
                    "JOIN resources r ON r.id = c.resource_id WHERE c.rowid IN (" + placeholders(ranked.size(), 1) + ")";
  auto db = pool_->acquire();
  auto s = db->prepare(sql);
  for (size_t i = 0; i < ranked.size(); ++i) s.bind(static_cast<int>(i + 1), ranked[i].first);
  std::unordered_map<int64_t, SearchHit> byRowid;
  while (s.step()) byRowid[s.integer(0)] = {s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), 0};
  MX_RETURN_IF_ERROR(s.status());
  std::vector<SearchHit> hits;
  for (const auto& [rowid, similarity] : ranked) {
    auto it = byRowid.find(rowid);
    if (it == byRowid.end()) continue;
    it->second.score = similarity;
    hits.push_back(std::move(it->second));
  }
  return hits;
}

Result<std::vector<SearchHit>> SqliteStore::searchVector(const SearchQuery& query) {
  if (query.embedding.empty()) return std::vector<SearchHit>{};
  if (static_cast<int>(query.embedding.size()) != config_.dimensions) {
    return invalidArgumentError("query embedding has " + std::to_string(query.embedding.size()) + " dimensions; this store indexes " +
                                std::to_string(config_.dimensions));
  }
  std::set<std::string> types(query.resourceTypes.begin(), query.resourceTypes.end());
  std::set<std::string> ids(query.resourceIds.begin(), query.resourceIds.end());
  std::function<bool(const VectorMeta&)> accept;
  if (!types.empty() || !ids.empty()) {
    accept = [&](const VectorMeta& meta) {
      return (types.empty() || types.count(meta.resourceType)) && (ids.empty() || ids.count(meta.resourceId));
    };
  }
  auto ranked = index_->search(query.userId, query.embedding, static_cast<size_t>(query.limit), accept);
  return hitsForRowids(ranked);
}

Result<std::vector<CanonEntry>> SqliteStore::listCanon(std::string_view userId, std::string_view contentType) {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT user_id, content_type, category, id, body, updated_at FROM canon WHERE user_id = ?1 AND "
                       "(?2 = '' OR content_type = ?2) ORDER BY content_type, category, id");
  s.bind(1, userId).bind(2, contentType);
  std::vector<CanonEntry> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), parseJson(s.text(4)), s.integer(5)});
  MX_RETURN_IF_ERROR(s.status());
  return out;
}

Status SqliteStore::putCanon(const CanonEntry& entry) {
  auto db = pool_->acquire();
  return db->prepare("INSERT INTO canon(user_id, content_type, category, id, body, updated_at) VALUES(?1,?2,?3,?4,?5,?6) "
                     "ON CONFLICT(user_id, content_type, category, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at")
      .bind(1, entry.userId).bind(2, entry.contentType).bind(3, entry.category).bind(4, entry.id).bind(5, entry.body.dump())
      .bind(6, entry.updatedAtMs).run();
}

Status SqliteStore::deleteCanon(std::string_view userId, std::string_view contentType, std::string_view category,
                                std::string_view id) {
  auto db = pool_->acquire();
  MX_RETURN_IF_ERROR(db->prepare("DELETE FROM canon WHERE user_id=?1 AND content_type=?2 AND category=?3 AND id=?4")
                         .bind(1, userId).bind(2, contentType).bind(3, category).bind(4, id).run());
  if (sqlite3_changes(db->handle()) == 0) return notFoundError("canon entry " + std::string(id) + " not found");
  return Status::ok();
}

Status SqliteStore::putConversation(const ConversationRecord& c) {
  auto db = pool_->acquire();
  // One statement: a SELECT of the owner kept open across the write would hold
  // an older read snapshot, and a write from there fails with SQLITE_BUSY at
  // once (no busy wait) when another connection committed meanwhile.
  MX_RETURN_IF_ERROR(db->prepare("INSERT INTO conversations(id, user_id, title, message_count, created_at, updated_at) "
                                 "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(id) DO UPDATE SET title = excluded.title, "
                                 "message_count = excluded.message_count, updated_at = excluded.updated_at "
                                 "WHERE conversations.user_id = excluded.user_id")
                         .bind(1, c.id).bind(2, c.userId).bind(3, c.title).bind(4, c.messageCount).bind(5, c.createdAtMs)
                         .bind(6, c.updatedAtMs).run());
  // Another user's id updates nothing: answered as not found.
  if (sqlite3_changes(db->handle()) == 0) return notFoundError("conversation " + c.id + " not found");
  return Status::ok();
}

Result<ConversationRecord> SqliteStore::getConversation(std::string_view userId, std::string_view id) {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT id, user_id, title, message_count, created_at, updated_at FROM conversations WHERE id=?1 AND user_id=?2");
  s.bind(1, id).bind(2, userId);
  if (s.step()) return readConversation(s);
  MX_RETURN_IF_ERROR(s.status());
  return notFoundError("conversation " + std::string(id) + " not found");
}

Result<std::vector<ConversationRecord>> SqliteStore::listConversations(std::string_view userId, Page page) {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT id, user_id, title, message_count, created_at, updated_at FROM conversations WHERE user_id=?1 "
                       "ORDER BY updated_at DESC, id LIMIT ?2 OFFSET ?3");
  s.bind(1, userId).bind(2, static_cast<int64_t>(page.limit)).bind(3, static_cast<int64_t>(page.offset));
  std::vector<ConversationRecord> out;
  while (s.step()) out.push_back(readConversation(s));
  MX_RETURN_IF_ERROR(s.status());
  return out;
}

Status SqliteStore::deleteConversation(std::string_view userId, std::string_view id) {
  {
    auto db = pool_->acquire();
    Transaction tx(*db);
    MX_RETURN_IF_ERROR(tx.begun());
    MX_RETURN_IF_ERROR(db->prepare("DELETE FROM conversations WHERE id=?1 AND user_id=?2").bind(1, id).bind(2, userId).run());
    if (sqlite3_changes(db->handle()) == 0) return notFoundError("conversation " + std::string(id) + " not found");
    MX_RETURN_IF_ERROR(db->prepare("DELETE FROM messages WHERE conversation_id=?1").bind(1, id).run());
    MX_RETURN_IF_ERROR(db->prepare("DELETE FROM artifacts WHERE conversation_id=?1").bind(1, id).run());
    MX_RETURN_IF_ERROR(db->prepare("DELETE FROM run_event_batches WHERE conversation_id=?1").bind(1, id).run());
    MX_RETURN_IF_ERROR(tx.commit());
  }
  return checkpointer_->deleteThread(id);
}

Status SqliteStore::appendMessage(const MessageRecord& m) {
  auto db = pool_->acquire();
  return insertMessage(*db, m);
}

Result<std::vector<MessageRecord>> SqliteStore::listMessages(std::string_view userId, std::string_view conversationId) {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT id, conversation_id, user_id, role, content, run_id, metadata, created_at FROM messages "
                       "WHERE conversation_id=?1 AND user_id=?2 ORDER BY seq");
  s.bind(1, conversationId).bind(2, userId);
  std::vector<MessageRecord> out;
  while (s.step()) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), parseJson(s.text(6)), s.integer(7)});
  }
  MX_RETURN_IF_ERROR(s.status());
  return out;
}

Status SqliteStore::putArtifact(const ArtifactRecord& a) {
  auto db = pool_->acquire();
  MX_RETURN_IF_ERROR(insertArtifact(*db, a));
  if (sqlite3_changes(db->handle()) == 0) return notFoundError("artifact " + a.id + " not found");
  return Status::ok();
}

Result<ArtifactRecord> SqliteStore::getArtifact(std::string_view userId, std::string_view id) {
  auto db = pool_->acquire();
  auto s = db->prepare(std::string("SELECT ") + kArtifactColumns + " FROM artifacts WHERE id=?1 AND user_id=?2");
  s.bind(1, id).bind(2, userId);
  if (s.step()) return readArtifact(s);
  MX_RETURN_IF_ERROR(s.status());
  return notFoundError("artifact " + std::string(id) + " not found");
}

Result<std::vector<ArtifactRecord>> SqliteStore::listArtifacts(std::string_view userId, std::string_view conversationId) {
  auto db = pool_->acquire();
  auto s = db->prepare(std::string("SELECT ") + kArtifactColumns +
                       " FROM artifacts WHERE conversation_id=?1 AND user_id=?2 ORDER BY created_at, id");
  s.bind(1, conversationId).bind(2, userId);
  std::vector<ArtifactRecord> out;
  while (s.step()) out.push_back(readArtifact(s));
  MX_RETURN_IF_ERROR(s.status());
  return out;
}

Result<int64_t> SqliteStore::beginTurn(const ConversationRecord& c, const MessageRecord& m) {
  auto db = pool_->acquire();
  Transaction tx(*db);
  MX_RETURN_IF_ERROR(tx.begun());
  int64_t messages = 0;
  {
    // Another user's conversation id updates nothing and returns no row.
    auto upsert = db->prepare("INSERT INTO conversations(id, user_id, title, message_count, created_at, updated_at) "
                              "VALUES(?1,?2,?3,1,?4,?5) ON CONFLICT(id) DO UPDATE SET message_count = message_count + 1, "
                              "updated_at = excluded.updated_at WHERE conversations.user_id = excluded.user_id "
                              "RETURNING message_count");
    upsert.bind(1, c.id).bind(2, c.userId).bind(3, c.title).bind(4, c.createdAtMs).bind(5, m.createdAtMs);
    if (!upsert.step()) return upsert.status().isOk() ? notFoundError("conversation " + c.id + " not found") : upsert.status();
    messages = upsert.integer(0);
  }
  MX_RETURN_IF_ERROR(insertMessage(*db, m));
  MX_RETURN_IF_ERROR(tx.commit());
  return messages;
}

Status SqliteStore::saveRun(const RunRecord& run) { return saveRunAndMaybeCheckpoint(run, nullptr, nullptr); }

Status SqliteStore::saveRunWithCheckpoint(const RunRecord& run, const Checkpoint& checkpoint, const std::string& checkpointText) {
  return saveRunAndMaybeCheckpoint(run, &checkpoint, &checkpointText);
}

Status SqliteStore::saveRunAndMaybeCheckpoint(const RunRecord& run, const Checkpoint* checkpoint, const std::string* checkpointText) {
  auto db = pool_->acquire();
  Transaction tx(*db);
  MX_RETURN_IF_ERROR(tx.begun());
  MX_RETURN_IF_ERROR(saveRunParts(*db, run, checkpoint, checkpointText));
  return tx.commit();
}

Status SqliteStore::saveRunParts(Connection& db, const RunRecord& run, const Checkpoint* checkpoint, const std::string* checkpointText) {
  MX_RETURN_IF_ERROR(db.prepare("UPDATE conversations SET message_count = message_count + ?1, updated_at = ?2 "
                                "WHERE id = ?3 AND user_id = ?4")
                         .bind(1, static_cast<int64_t>(run.assistantMessage ? 1 : 0)).bind(2, run.updatedAtMs)
                         .bind(3, run.conversationId).bind(4, run.userId).run());
  if (sqlite3_changes(db.handle()) == 0) return notFoundError("conversation " + run.conversationId + " not found");
  for (const auto& artifact : run.artifacts) MX_RETURN_IF_ERROR(insertArtifact(db, artifact));
  if (run.assistantMessage) MX_RETURN_IF_ERROR(insertMessage(db, *run.assistantMessage));
  MX_RETURN_IF_ERROR(insertRunEvents(db, run.userId, run.conversationId, run.runId, run.events));
  if (checkpoint != nullptr) MX_RETURN_IF_ERROR(checkpointer_->saveIn(db, *checkpoint, *checkpointText));
  return Status::ok();
}

std::vector<Status> SqliteStore::saveRuns(const std::vector<RunSave>& runs) {
  auto db = pool_->acquire();
  Transaction tx(*db);
  if (!tx.begun().isOk()) return std::vector<Status>(runs.size(), tx.begun());
  std::vector<Status> saved(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    Status opened = db->exec("SAVEPOINT run");
    saved[i] = opened.isOk() ? saveRunParts(*db, *runs[i].run, runs[i].checkpoint, runs[i].checkpointText) : opened;
    if (!opened.isOk()) continue;
    Status undone = saved[i].isOk() ? Status::ok() : db->exec("ROLLBACK TO run");
    Status released = db->exec("RELEASE run");
    if (!undone.isOk() || !released.isOk()) {  // what this run left cannot be told apart: none of the batch is kept
      Status broken = !undone.isOk() ? undone : released;
      return std::vector<Status>(runs.size(), broken);
    }
  }
  Status committed = tx.commit();
  if (!committed.isOk()) {
    for (auto& status : saved) {
      if (status.isOk()) status = committed;
    }
  }
  return saved;
}

Status SqliteStore::appendRunEvents(std::string_view userId, std::string_view conversationId, std::string_view runId,
                                    const std::vector<RunEvent>& events) {
  auto db = pool_->acquire();
  return insertRunEvents(*db, userId, conversationId, runId, runEventBatch(events));
}

Result<std::vector<RunEvent>> SqliteStore::runEvents(std::string_view userId, std::string_view runId, int64_t after) {
  auto db = pool_->acquire();
  auto s = db->prepare("SELECT events FROM run_event_batches WHERE run_id=?1 AND user_id=?2 AND last_seq > ?3 ORDER BY first_seq");
  s.bind(1, runId).bind(2, userId).bind(3, after);
  std::vector<RunEvent> out;
  while (s.step()) {
    if (!readRunEvents(s.text(0), after, out)) {
      return Status(Code::DataLoss, "database " + config_.path + ": run " + std::string(runId) +
                                        " has a run_event_batches row that is not a batch of events");
    }
  }
  MX_RETURN_IF_ERROR(s.status());
  return out;
}

}  // namespace mx::sqlite
