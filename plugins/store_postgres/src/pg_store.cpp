#include "pg_store.hpp"

#include <cmath>

#include "pg_checkpointer.hpp"
#include "pg_run_batch.hpp"
#include "pg_sql.hpp"
#include "mx/json_parse.hpp"
#include "mx/json_text.hpp"

namespace mx::pg {

// A call that is one statement runs it in a pqxx::nontransaction (autocommit):
// one round trip, where BEGIN ... COMMIT would take three. Calls of several
// statements use pqxx::work.

namespace {

std::string str(std::string_view view) { return std::string(view); }

constexpr const char* kResourceColumns = "id, user_id, title, resource_type, format, content, chunk_count, embedding_model, created_at";
constexpr const char* kConversationColumns = "id, user_id, title, message_count, created_at, updated_at";
constexpr const char* kArtifactColumns =
    "id, conversation_id, user_id, run_id, content_type, content, word_count, status, metadata::text, created_at";

// The filters every search shares: $2 user, $3 resource types, $4 resource ids (empty arrays: all).
constexpr const char* kSearchFilters =
    "c.user_id = $2 AND (cardinality($3::text[]) = 0 OR c.resource_type = ANY($3::text[])) "
    "AND (cardinality($4::text[]) = 0 OR c.resource_id = ANY($4::text[]))";
constexpr const char* kHitColumns = "c.id, c.resource_id, r.title, c.resource_type, c.heading, c.text";

ResourceRecord readResource(const pqxx::row& row) {
  ResourceRecord r;
  r.id = row[0].as<std::string>();
  r.userId = row[1].as<std::string>();
  r.title = row[2].as<std::string>();
  r.resourceType = row[3].as<std::string>();
  r.format = row[4].as<std::string>();
  r.content = row[5].as<std::string>();
  r.chunkCount = row[6].as<int64_t>();
  r.embeddingModel = row[7].as<std::string>();
  r.createdAtMs = row[8].as<int64_t>();
  return r;
}

ConversationRecord readConversation(const pqxx::row& row) {
  return {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
          row[3].as<int64_t>(),     row[4].as<int64_t>(),     row[5].as<int64_t>()};
}

ArtifactRecord readArtifact(const pqxx::row& row) {
  ArtifactRecord a;
  a.id = row[0].as<std::string>();
  a.conversationId = row[1].as<std::string>();
  a.userId = row[2].as<std::string>();
  a.runId = row[3].as<std::string>();
  a.contentType = row[4].as<std::string>();
  a.content = row[5].as<std::string>();
  a.wordCount = row[6].as<int64_t>();
  a.status = row[7].as<std::string>();
  a.metadata = parseJson(row[8].as<std::string>());
  a.createdAtMs = row[9].as<int64_t>();
  return a;
}

std::vector<SearchHit> readHits(const pqxx::result& rows) {
  std::vector<SearchHit> hits;
  hits.reserve(rows.size());
  for (const auto& row : rows) {
    hits.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                    row[4].as<std::string>(), row[5].as<std::string>(), row[6].is_null() ? 0.0 : row[6].as<double>()});
  }
  return hits;
}

// A jsonb parameter (null as an empty object), by the SDK's writer: dump()'s serializer per message's
// metadata showed in the profile, and dump() throws on invalid UTF-8 where this writes U+FFFD.
std::string jsonText(const Json& value) { return value.is_null() ? std::string("{}") : mx::jsonText(value); }

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(StoreConfig config) {
  if (config.schema.dimensions < 1) return invalidArgumentError("embedding_dimensions must be positive");
  if (config.schema.vectorMode == VectorMode::Pgvector) {
    config.pool.sessionSetup.push_back("SET hnsw.ef_search = " + std::to_string(config.hnswEfSearch));
    if (config.hnswIterativeScan != "off") config.pool.sessionSetup.push_back("SET hnsw.iterative_scan = " + config.hnswIterativeScan);
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(config));
  auto pool = Pool::open(config.pool);
  if (!pool) return pool.status();
  store->pool_ = std::move(*pool);
  {
    auto lease = store->pool_->acquire();
    if (!lease) return lease.status();
    auto applied = migrate(lease->connection(), config.schema);
    if (!applied) return applied.status();
    store->applied_ = std::move(*applied);
  }
  store->checkpointer_ = std::make_shared<PostgresCheckpointer>(*store->pool_, config.checkpointRetention);
  return store;
}

std::shared_ptr<Checkpointer> PostgresStore::checkpointer() { return checkpointer_; }

Status PostgresStore::health() {
  return pool_->with("health", [&](Pool::Lease& lease) -> Status {
    pqxx::nontransaction tx(lease.connection());
    tx.exec1("SELECT 1");
    return Status::ok();
  });
}

Status PostgresStore::checkDimensions(const std::vector<float>& embedding, const char* what) const {
  if (embedding.empty() || static_cast<int>(embedding.size()) == config_.schema.dimensions) return Status::ok();
  return invalidArgumentError(std::string(what) + " has " + std::to_string(embedding.size()) + " dimensions; this store indexes " +
                              std::to_string(config_.schema.dimensions));
}

Status PostgresStore::putResource(const ResourceRecord& resource, const std::vector<ChunkRecord>& chunks) {
  std::vector<std::string> ids, headings, texts, embeddings;
  std::vector<int64_t> ordinals;
  bool pgvector = config_.schema.vectorMode == VectorMode::Pgvector;
  for (const auto& chunk : chunks) {
    MX_RETURN_IF_ERROR(checkDimensions(chunk.embedding, "chunk embedding"));
    ids.push_back(chunk.id);
    headings.push_back(chunk.heading);
    texts.push_back(chunk.text);
    embeddings.push_back(chunk.embedding.empty() ? "" : pgvector ? vectorLiteral(chunk.embedding) : realArrayLiteral(chunk.embedding));
    ordinals.push_back(chunk.ordinal);
  }
  // One round trip for every chunk: the columns as arrays, unnested.
  std::string embeddingColumns = pgvector
                                     ? "embedding) SELECT u.id, $1, $2, $3, u.ordinal, u.heading, u.text, NULLIF(u.embedding, '')::vector"
                                     : "embedding, embedding_norm) SELECT u.id, $1, $2, $3, u.ordinal, u.heading, u.text, "
                                       "NULLIF(u.embedding, '')::real[], (SELECT sqrt(sum(x::float8 * x)) FROM unnest(NULLIF(u.embedding, '')::real[]) x)";
  return pool_->with("put resource " + resource.id, [&](Pool::Lease& lease) -> Status {
    lease.prepare("resource_insert", std::string("INSERT INTO resources(") + kResourceColumns + ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)");
    lease.prepare("chunks_insert", "INSERT INTO chunks(id, resource_id, user_id, resource_type, ordinal, heading, text, " + embeddingColumns +
                                        " FROM unnest($4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[]) "
                                        "AS u(id, ordinal, heading, text, embedding)");
    pqxx::work tx(lease.connection());
    lease.exec(tx, "resource_insert", resource.id, resource.userId, resource.title, resource.resourceType, resource.format,
                      resource.content, static_cast<int64_t>(chunks.size()), resource.embeddingModel, resource.createdAtMs);
    if (!chunks.empty()) {
      lease.exec(tx, "chunks_insert", resource.id, resource.userId, resource.resourceType, textArrayLiteral(ids), bigintArrayLiteral(ordinals),
                        textArrayLiteral(headings), textArrayLiteral(texts), textArrayLiteral(embeddings));
    }
    tx.commit();
    return Status::ok();
  });
}

Result<std::vector<ResourceRecord>> PostgresStore::listResources(std::string_view userId, Page page) {
  return pool_->with("list resources", [&](Pool::Lease& lease) -> Result<std::vector<ResourceRecord>> {
    // Lists carry metadata, not whole documents.
    lease.prepare("resources_list", "SELECT id, user_id, title, resource_type, format, '' AS content, chunk_count, embedding_model, "
                                     "created_at FROM resources WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3");
    pqxx::nontransaction tx(lease.connection());
    std::vector<ResourceRecord> out;
    for (const auto& row : lease.exec(tx, "resources_list", str(userId), page.limit, page.offset)) out.push_back(readResource(row));
    return out;
  });
}

Result<ResourceRecord> PostgresStore::getResource(std::string_view userId, std::string_view resourceId) {
  return pool_->with("get resource", [&](Pool::Lease& lease) -> Result<ResourceRecord> {
    lease.prepare("resource_get", std::string("SELECT ") + kResourceColumns + " FROM resources WHERE id = $1 AND user_id = $2");
    pqxx::nontransaction tx(lease.connection());
    auto rows = lease.exec(tx, "resource_get", str(resourceId), str(userId));
    if (rows.empty()) return notFoundError("resource " + str(resourceId) + " not found");
    return readResource(rows[0]);
  });
}

Status PostgresStore::deleteResource(std::string_view userId, std::string_view resourceId) {
  return pool_->with("delete resource", [&](Pool::Lease& lease) -> Status {
    lease.prepare("resource_delete", "DELETE FROM resources WHERE id = $1 AND user_id = $2");  // chunks cascade
    pqxx::work tx(lease.connection());
    auto deleted = lease.exec(tx, "resource_delete", str(resourceId), str(userId));
    if (deleted.affected_rows() == 0) return notFoundError("resource " + str(resourceId) + " not found");
    tx.commit();
    return Status::ok();
  });
}

Result<std::vector<SearchHit>> PostgresStore::searchText(const SearchQuery& query) {
  std::string words = tsQueryText(query.text);
  if (words.empty()) return std::vector<SearchHit>{};
  return pool_->with("full-text search", [&](Pool::Lease& lease) -> Result<std::vector<SearchHit>> {
    lease.prepare("search_text", std::string("SELECT ") + kHitColumns + ", ts_rank_cd(c.tsv, q) AS score "
                                  "FROM chunks c JOIN resources r ON r.id = c.resource_id, to_tsquery('english', $1) q "
                                  "WHERE c.tsv @@ q AND " + kSearchFilters + " ORDER BY score DESC, c.id LIMIT $5");
    pqxx::nontransaction tx(lease.connection());
    return readHits(lease.exec(tx, "search_text", words, query.userId, textArrayLiteral(query.resourceTypes),
                                     textArrayLiteral(query.resourceIds), query.limit));
  });
}

Result<std::vector<SearchHit>> PostgresStore::searchVector(const SearchQuery& query) {
  if (query.embedding.empty()) return std::vector<SearchHit>{};
  MX_RETURN_IF_ERROR(checkDimensions(query.embedding, "query embedding"));
  return pool_->with("vector search", [&](Pool::Lease& lease) -> Result<std::vector<SearchHit>> {
    if (config_.schema.vectorMode == VectorMode::Pgvector) {
      lease.prepare("search_vector", std::string("SELECT ") + kHitColumns + ", 1 - (c.embedding <=> $1::vector) AS score "
                                      "FROM chunks c JOIN resources r ON r.id = c.resource_id "
                                      "WHERE c.embedding IS NOT NULL AND " + kSearchFilters +
                                      " ORDER BY c.embedding <=> $1::vector LIMIT $5");
      pqxx::nontransaction tx(lease.connection());
      return readHits(lease.exec(tx, "search_vector", vectorLiteral(query.embedding), query.userId,
                                       textArrayLiteral(query.resourceTypes), textArrayLiteral(query.resourceIds), query.limit));
    }
    double norm = 0;
    for (float x : query.embedding) norm += static_cast<double>(x) * x;
    lease.prepare("search_vector_exact", std::string("SELECT ") + kHitColumns +
                                              ", (SELECT sum(a::float8 * b) FROM unnest(c.embedding, $1::real[]) AS t(a, b)) "
                                              "/ NULLIF(c.embedding_norm * $6, 0) AS score "
                                              "FROM chunks c JOIN resources r ON r.id = c.resource_id "
                                              "WHERE c.embedding IS NOT NULL AND " + kSearchFilters +
                                              " ORDER BY score DESC NULLS LAST, c.id LIMIT $5");
    pqxx::nontransaction tx(lease.connection());
    return readHits(lease.exec(tx, "search_vector_exact", realArrayLiteral(query.embedding), query.userId,
                                     textArrayLiteral(query.resourceTypes), textArrayLiteral(query.resourceIds), query.limit,
                                     std::sqrt(norm)));
  });
}

Result<std::vector<CanonEntry>> PostgresStore::listCanon(std::string_view userId, std::string_view contentType) {
  return pool_->with("list canon", [&](Pool::Lease& lease) -> Result<std::vector<CanonEntry>> {
    lease.prepare("canon_list", "SELECT user_id, content_type, category, id, body::text, updated_at FROM canon WHERE user_id = $1 "
                                 "AND ($2::text = '' OR content_type = $2::text) ORDER BY content_type, category, id");
    pqxx::nontransaction tx(lease.connection());
    std::vector<CanonEntry> out;
    for (const auto& row : lease.exec(tx, "canon_list", str(userId), str(contentType))) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                     parseJson(row[4].as<std::string>()), row[5].as<int64_t>()});
    }
    return out;
  });
}

Status PostgresStore::putCanon(const CanonEntry& entry) {
  return pool_->with("put canon", [&](Pool::Lease& lease) -> Status {
    lease.prepare("canon_put", "INSERT INTO canon(user_id, content_type, category, id, body, updated_at) VALUES($1,$2,$3,$4,$5::jsonb,$6) "
                                "ON CONFLICT (user_id, content_type, category, id) DO UPDATE SET body = EXCLUDED.body, "
                                "updated_at = EXCLUDED.updated_at");
    pqxx::nontransaction tx(lease.connection());
    lease.exec(tx, "canon_put", entry.userId, entry.contentType, entry.category, entry.id, jsonText(entry.body), entry.updatedAtMs);
    return Status::ok();
  });
}

Status PostgresStore::deleteCanon(std::string_view userId, std::string_view contentType, std::string_view category,
                                  std::string_view id) {
  return pool_->with("delete canon", [&](Pool::Lease& lease) -> Status {
    lease.prepare("canon_delete", "DELETE FROM canon WHERE user_id = $1 AND content_type = $2 AND category = $3 AND id = $4");
    pqxx::work tx(lease.connection());
    auto deleted = lease.exec(tx, "canon_delete", str(userId), str(contentType), str(category), str(id));
    if (deleted.affected_rows() == 0) return notFoundError("canon entry " + str(id) + " not found");
    tx.commit();
    return Status::ok();
  });
}

Status PostgresStore::putConversation(const ConversationRecord& c) {
  return pool_->with("put conversation", [&](Pool::Lease& lease) -> Status {
    // Another user's id updates nothing: answered as not found.
    lease.prepare("conversation_put", std::string("INSERT INTO conversations(") + kConversationColumns + ") VALUES($1,$2,$3,$4,$5,$6) "
                                       "ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, message_count = EXCLUDED.message_count, "
                                       "updated_at = EXCLUDED.updated_at WHERE conversations.user_id = EXCLUDED.user_id");
    pqxx::nontransaction tx(lease.connection());
    auto written = lease.exec(tx, "conversation_put", c.id, c.userId, c.title, c.messageCount, c.createdAtMs, c.updatedAtMs);
    if (written.affected_rows() == 0) return notFoundError("conversation " + c.id + " not found");
    return Status::ok();
  });
}

Result<ConversationRecord> PostgresStore::getConversation(std::string_view userId, std::string_view id) {
  return pool_->with("get conversation", [&](Pool::Lease& lease) -> Result<ConversationRecord> {
    lease.prepare("conversation_get", std::string("SELECT ") + kConversationColumns + " FROM conversations WHERE id = $1 AND user_id = $2");
    pqxx::nontransaction tx(lease.connection());
    auto rows = lease.exec(tx, "conversation_get", str(id), str(userId));
    if (rows.empty()) return notFoundError("conversation " + str(id) + " not found");
    return readConversation(rows[0]);
  });
}

Result<std::vector<ConversationRecord>> PostgresStore::listConversations(std::string_view userId, Page page) {
  return pool_->with("list conversations", [&](Pool::Lease& lease) -> Result<std::vector<ConversationRecord>> {
    lease.prepare("conversations_list", std::string("SELECT ") + kConversationColumns +
                                             " FROM conversations WHERE user_id = $1 ORDER BY updated_at DESC, id LIMIT $2 OFFSET $3");
    pqxx::nontransaction tx(lease.connection());
    std::vector<ConversationRecord> out;
    for (const auto& row : lease.exec(tx, "conversations_list", str(userId), page.limit, page.offset)) {
      out.push_back(readConversation(row));
    }
    return out;
  });
}

Status PostgresStore::deleteConversation(std::string_view userId, std::string_view id) {
  return pool_->with("delete conversation", [&](Pool::Lease& lease) -> Status {
    pqxx::work tx(lease.connection());
    // Messages cascade; the rest is deleted in the same transaction.
    auto deleted = tx.exec_params("DELETE FROM conversations WHERE id = $1 AND user_id = $2", str(id), str(userId));
    if (deleted.affected_rows() == 0) return notFoundError("conversation " + str(id) + " not found");
    tx.exec_params0("DELETE FROM artifacts WHERE conversation_id = $1", str(id));
    tx.exec_params0("DELETE FROM run_event_batches WHERE conversation_id = $1", str(id));
    PostgresCheckpointer::deleteThreadIn(tx, id);
    tx.commit();
    return Status::ok();
  });
}

Status PostgresStore::appendMessage(const MessageRecord& m) {
  return pool_->with("append message", [&](Pool::Lease& lease) -> Status {
    lease.prepare("message_append", "INSERT INTO messages(id, conversation_id, user_id, role, content, run_id, metadata, created_at) "
                                     "VALUES($1,$2,$3,$4,$5,$6,$7::jsonb,$8)");
    pqxx::nontransaction tx(lease.connection());
    lease.exec(tx, "message_append", m.id, m.conversationId, m.userId, m.role, m.content, m.runId, jsonText(m.metadata), m.createdAtMs);
    return Status::ok();
  });
}

Result<std::vector<MessageRecord>> PostgresStore::listMessages(std::string_view userId, std::string_view conversationId) {
  return pool_->with("list messages", [&](Pool::Lease& lease) -> Result<std::vector<MessageRecord>> {
    lease.prepare("messages_list", "SELECT id, conversation_id, user_id, role, content, run_id, metadata::text, created_at FROM messages "
                                    "WHERE conversation_id = $1 AND user_id = $2 ORDER BY seq");
    pqxx::nontransaction tx(lease.connection());
    std::vector<MessageRecord> out;
    for (const auto& row : lease.exec(tx, "messages_list", str(conversationId), str(userId))) {
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                     row[4].as<std::string>(), row[5].as<std::string>(), parseJson(row[6].as<std::string>()),
                     row[7].as<int64_t>()});
    }
    return out;
  });
}

Status PostgresStore::putArtifact(const ArtifactRecord& a) {
  return pool_->with("put artifact", [&](Pool::Lease& lease) -> Status {
    lease.prepare("artifact_put", "INSERT INTO artifacts(id, conversation_id, user_id, run_id, content_type, content, word_count, status, "
                                   "metadata, created_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9::jsonb,$10) "
                                   "ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, word_count = EXCLUDED.word_count, "
                                   "status = EXCLUDED.status, metadata = EXCLUDED.metadata WHERE artifacts.user_id = EXCLUDED.user_id");
    pqxx::nontransaction tx(lease.connection());
    auto written = lease.exec(tx, "artifact_put", a.id, a.conversationId, a.userId, a.runId, a.contentType, a.content, a.wordCount,
                                    a.status, jsonText(a.metadata), a.createdAtMs);
    if (written.affected_rows() == 0) return notFoundError("artifact " + a.id + " not found");
    return Status::ok();
  });
}

Result<ArtifactRecord> PostgresStore::getArtifact(std::string_view userId, std::string_view id) {
  return pool_->with("get artifact", [&](Pool::Lease& lease) -> Result<ArtifactRecord> {
    lease.prepare("artifact_get", std::string("SELECT ") + kArtifactColumns + " FROM artifacts WHERE id = $1 AND user_id = $2");
    pqxx::nontransaction tx(lease.connection());
    auto rows = lease.exec(tx, "artifact_get", str(id), str(userId));
    if (rows.empty()) return notFoundError("artifact " + str(id) + " not found");
    return readArtifact(rows[0]);
  });
}

Result<std::vector<ArtifactRecord>> PostgresStore::listArtifacts(std::string_view userId, std::string_view conversationId) {
  return pool_->with("list artifacts", [&](Pool::Lease& lease) -> Result<std::vector<ArtifactRecord>> {
    lease.prepare("artifacts_list", std::string("SELECT ") + kArtifactColumns +
                                         " FROM artifacts WHERE conversation_id = $1 AND user_id = $2 ORDER BY created_at, id");
    pqxx::nontransaction tx(lease.connection());
    std::vector<ArtifactRecord> out;
    for (const auto& row : lease.exec(tx, "artifacts_list", str(conversationId), str(userId))) out.push_back(readArtifact(row));
    return out;
  });
}

Result<int64_t> PostgresStore::beginTurn(const ConversationRecord& c, const MessageRecord& m) {
  return pool_->with("begin turn", [&](Pool::Lease& lease) -> Result<int64_t> {
    // Another user's conversation id updates nothing, and then no message is added.
    lease.prepare("turn_begin",
                  "WITH conversation AS (INSERT INTO conversations(id, user_id, title, message_count, created_at, updated_at) "
                  "  VALUES($1, $2, $3, 1, $4, $5) ON CONFLICT (id) DO UPDATE SET message_count = conversations.message_count + 1, "
                  "  updated_at = EXCLUDED.updated_at WHERE conversations.user_id = EXCLUDED.user_id RETURNING message_count), "
                  "message AS (INSERT INTO messages(id, conversation_id, user_id, role, content, run_id, metadata, created_at) "
                  "  SELECT $6, $1, $2, $7, $8, $9, $10::jsonb, $11 WHERE EXISTS (SELECT 1 FROM conversation)) "
                  "SELECT message_count FROM conversation");
    pqxx::nontransaction tx(lease.connection());
    auto rows = lease.exec(tx, "turn_begin", c.id, c.userId, c.title, c.createdAtMs, m.createdAtMs, m.id, m.role, m.content,
                           m.runId, jsonText(m.metadata), m.createdAtMs);
    if (rows.empty()) return notFoundError("conversation " + c.id + " not found");
    return rows[0][0].as<int64_t>();
  });
}

namespace {

// A run's parts as common table expressions, $1 to $19 (runSaveParameters);
// the conversation first: when it is gone (or another user's), the other parts
// insert nothing and no row comes back.
const char* kRunSaveParts =
    "conversation AS (UPDATE conversations SET message_count = message_count + $4, updated_at = $5 "
    "  WHERE id = $2 AND user_id = $1 RETURNING message_count), "
    "artifact AS (INSERT INTO artifacts(id, conversation_id, user_id, run_id, content_type, content, word_count, status, "
    "  metadata, created_at) "
    "  SELECT u.id, $2, $1, $3, u.content_type, u.content, u.word_count, u.status, u.metadata::jsonb, u.created_at "
    "  FROM unnest($6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::bigint[]) "
    "    AS u(id, content_type, content, word_count, status, metadata, created_at) "
    "  WHERE EXISTS (SELECT 1 FROM conversation) "
    "  ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, word_count = EXCLUDED.word_count, "
    "  status = EXCLUDED.status, metadata = EXCLUDED.metadata WHERE artifacts.user_id = EXCLUDED.user_id), "
    "message AS (INSERT INTO messages(id, conversation_id, user_id, role, content, run_id, metadata, created_at) "
    "  SELECT $13, $2, $1, 'assistant', $14, $3, $15::jsonb, $16 WHERE $13 <> '' AND EXISTS (SELECT 1 FROM conversation)), "
    "batch AS (INSERT INTO run_event_batches(run_id, first_seq, last_seq, user_id, conversation_id, events) "
    "  SELECT $3, $17, $18, $1, $2, $19 WHERE $19 <> '' AND EXISTS (SELECT 1 FROM conversation) "
    "  ON CONFLICT (run_id, first_seq) DO NOTHING)";
constexpr int kRunSaveParameterCount = 19;

// The run's columns as the statement's parameters: the artifacts as arrays (one unnest, any number of them).
struct RunSaveParameters {
  explicit RunSaveParameters(const RunRecord& run) : run(run) {
    ArtifactColumns artifacts;
    for (const auto& artifact : run.artifacts) artifacts.add(artifact, run);
    artifactIds = artifacts.ids();
    artifactTypes = artifacts.types();
    artifactContents = artifacts.contents();
    artifactWords = artifacts.words();
    artifactStatuses = artifacts.statuses();
    artifactMetadata = artifacts.metadata();
    artifactCreated = artifacts.created();
    if (run.assistantMessage) messageMetadata = jsonText(run.assistantMessage->metadata);
  }

  // Runs `statement` with the run's parameters, then `more`; once: the texts made here are moved
  // into libpqxx's parameters (which copy what they are lent).
  template <typename... More>
  pqxx::result exec(Pool::Lease& lease, pqxx::transaction_base& tx, const std::string& statement, More&&... more) && {
    static const MessageRecord kNoMessage;
    const MessageRecord& message = run.assistantMessage ? *run.assistantMessage : kNoMessage;
    return lease.exec(tx, statement, run.userId, run.conversationId, run.runId, static_cast<int64_t>(run.assistantMessage ? 1 : 0),
                      run.updatedAtMs, std::move(artifactIds), std::move(artifactTypes), std::move(artifactContents),
                      std::move(artifactWords), std::move(artifactStatuses), std::move(artifactMetadata), std::move(artifactCreated),
                      message.id, message.content, std::move(messageMetadata), message.createdAtMs, run.events.firstSequence,
                      run.events.lastSequence, run.events.text, std::forward<More>(more)...);
  }

  const RunRecord& run;
  std::string artifactIds, artifactTypes, artifactContents, artifactWords, artifactStatuses, artifactMetadata, artifactCreated;
  std::string messageMetadata = "{}";
};

}  // namespace

Status PostgresStore::saveRun(const RunRecord& run) {
  RunSaveParameters parameters(run);
  return pool_->with("save run", [&](Pool::Lease& lease) -> Status {
    static const std::string kSql = std::string("WITH ") + kRunSaveParts + " SELECT message_count FROM conversation";
    lease.prepare("run_save", kSql);
    pqxx::nontransaction tx(lease.connection());
    if (std::move(parameters).exec(lease, tx, "run_save").empty()) return notFoundError("conversation " + run.conversationId + " not found");
    return Status::ok();
  });
}

Status PostgresStore::saveRunWithCheckpoint(const RunRecord& run, const Checkpoint& checkpoint, const std::string& checkpointText) {
  RunSaveParameters parameters(run);
  return pool_->with("save run and checkpoint", [&](Pool::Lease& lease) -> Status {
    // One statement: one round trip, one commit, instead of one for the checkpoint and one for the run.
    static const std::string kSql = std::string("WITH ") + kRunSaveParts + ", " +
                                    PostgresCheckpointer::saveParts(kRunSaveParameterCount + 1, "EXISTS (SELECT 1 FROM conversation)") +
                                    " SELECT message_count FROM conversation";
    lease.prepare("run_save_checkpoint", kSql);
    pqxx::nontransaction tx(lease.connection());
    auto [thread, runId, step, status, body, created, keep] = checkpointer_->saveParameters(checkpoint, checkpointText);
    if (std::move(parameters).exec(lease, tx, "run_save_checkpoint", thread, runId, step, status, body, created, keep).empty()) {
      return notFoundError("conversation " + run.conversationId + " not found");
    }
    return Status::ok();
  });
}

std::vector<Status> PostgresStore::saveRuns(const std::vector<RunSave>& runs) {
  std::vector<Status> saved(runs.size());
  for (auto [begin, end] : runBatchGroups(runs, kMostRunsPerStatement)) {
    if (end - begin < kFewestRunsPerStatement) {
      saved[begin] = saveOne(runs[begin]);
      continue;
    }
    auto updated = saveTogether(runs, begin, end);
    for (size_t i = begin; i < end; ++i) {
      if (!updated) {
        saved[i] = saveOne(runs[i]);  // after a failed statement: one run's fault stays its own
      } else if (updated->count(runs[i].run->conversationId) == 0) {
        saved[i] = notFoundError("conversation " + runs[i].run->conversationId + " not found");
      }
    }
  }
  return saved;
}

Status PostgresStore::saveOne(const RunSave& save) {
  if (save.checkpoint != nullptr) return saveRunWithCheckpoint(*save.run, *save.checkpoint, *save.checkpointText);
  return saveRun(*save.run);
}

Result<std::set<std::string>> PostgresStore::saveTogether(const std::vector<RunSave>& runs, size_t begin, size_t end) {
  size_t count = end - begin;
  auto keep = static_cast<int64_t>(config_.checkpointRetention) - 1;
  auto parameters = runBatchParameters(runs, begin, end, keep);
  return pool_->with("save runs", [&](Pool::Lease& lease) -> Result<std::set<std::string>> {
    std::string name = "run_save_batch_" + std::to_string(count);
    lease.prepare(name, runBatchStatement(count));
    pqxx::nontransaction tx(lease.connection());
    std::set<std::string> updated;
    for (const auto& row : lease.exec(tx, name, pqxx::prepare::make_dynamic_params(std::make_move_iterator(parameters.begin()), std::make_move_iterator(parameters.end())))) updated.insert(row[0].as<std::string>());
    return updated;
  });
}

Status PostgresStore::appendRunEvents(std::string_view userId, std::string_view conversationId, std::string_view runId,
                                      const std::vector<RunEvent>& events) {
  if (events.empty()) return Status::ok();
  return pool_->with("append run events", [&](Pool::Lease& lease) -> Status {
    lease.prepare("run_events_append", "INSERT INTO run_event_batches(run_id, first_seq, last_seq, user_id, conversation_id, events) "
                                        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, first_seq) DO NOTHING");
    pqxx::nontransaction tx(lease.connection());
    lease.exec(tx, "run_events_append", str(runId), events.front().sequence, events.back().sequence, str(userId),
               str(conversationId), runEventsText(events));
    return Status::ok();
  });
}

Result<std::vector<RunEvent>> PostgresStore::runEvents(std::string_view userId, std::string_view runId, int64_t after) {
  return pool_->with("run events", [&](Pool::Lease& lease) -> Result<std::vector<RunEvent>> {
    lease.prepare("run_events_list", "SELECT events FROM run_event_batches WHERE run_id = $1 AND user_id = $2 AND last_seq > $3 "
                                      "ORDER BY first_seq");
    pqxx::nontransaction tx(lease.connection());
    std::vector<RunEvent> out;
    for (const auto& row : lease.exec(tx, "run_events_list", str(runId), str(userId), after)) {
      if (!readRunEvents(std::string_view(row[0].c_str(), row[0].size()), after, out)) {
        return Status(Code::DataLoss, "postgres: run " + str(runId) + " has a run_event_batches row that is not a batch of events");
      }
    }
    return out;
  });
}

}  // namespace mx::pg
