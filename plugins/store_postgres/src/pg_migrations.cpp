#include "pg_migrations.hpp"

#include "pg_sql.hpp"

namespace mx::pg {

namespace {

// Any fixed number: the advisory lock that serialises migrations.
constexpr int64_t kMigrationLock = 0x6d78736368656d61;  // "mxschema"

const char* kCoreSchema = R"SQL(
CREATE TABLE mx_settings (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE resources (id text PRIMARY KEY, user_id text NOT NULL, title text NOT NULL, resource_type text NOT NULL,
  format text NOT NULL, content text NOT NULL, chunk_count bigint NOT NULL, embedding_model text NOT NULL,
  created_at bigint NOT NULL);
CREATE INDEX resources_by_user ON resources(user_id, created_at DESC, id);
CREATE TABLE chunks (id text PRIMARY KEY, resource_id text NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
  user_id text NOT NULL, resource_type text NOT NULL, ordinal bigint NOT NULL, heading text NOT NULL, text text NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', heading || ' ' || text)) STORED);
CREATE INDEX chunks_by_resource ON chunks(resource_id);
CREATE INDEX chunks_by_user ON chunks(user_id, resource_type);
CREATE INDEX chunks_tsv ON chunks USING gin(tsv);
CREATE TABLE canon (user_id text NOT NULL, content_type text NOT NULL, category text NOT NULL, id text NOT NULL,
  body jsonb NOT NULL, updated_at bigint NOT NULL, PRIMARY KEY (user_id, content_type, category, id));
CREATE TABLE conversations (id text PRIMARY KEY, user_id text NOT NULL, title text NOT NULL,
  message_count bigint NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL);
CREATE INDEX conversations_by_user ON conversations(user_id, updated_at DESC, id);
CREATE TABLE messages (seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,
  conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, user_id text NOT NULL, role text NOT NULL,
  content text NOT NULL, run_id text NOT NULL, metadata jsonb NOT NULL, created_at bigint NOT NULL);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
CREATE TABLE artifacts (id text PRIMARY KEY, conversation_id text NOT NULL, user_id text NOT NULL, run_id text NOT NULL,
  content_type text NOT NULL, content text NOT NULL, word_count bigint NOT NULL, status text NOT NULL,
  metadata jsonb NOT NULL, created_at bigint NOT NULL);
CREATE INDEX artifacts_by_conversation ON artifacts(conversation_id, created_at, id);
CREATE TABLE run_events (run_id text NOT NULL, seq bigint NOT NULL, user_id text NOT NULL, conversation_id text NOT NULL,
  event text NOT NULL, data text NOT NULL, PRIMARY KEY (run_id, seq));
CREATE INDEX run_events_by_conversation ON run_events(conversation_id);
CREATE TABLE checkpoints (seq bigserial PRIMARY KEY, thread_id text NOT NULL, run_id text NOT NULL, step bigint NOT NULL,
  status text NOT NULL, body text NOT NULL, created_at bigint NOT NULL);
CREATE INDEX checkpoints_by_thread ON checkpoints(thread_id, run_id, seq);
CREATE TABLE pending_writes (thread_id text NOT NULL, run_id text NOT NULL, step bigint NOT NULL, node text NOT NULL,
  update_json text NOT NULL);
CREATE INDEX pending_writes_by_run ON pending_writes(thread_id, run_id, step);
)SQL";

std::string vectorSchema(const SchemaOptions& options) {
  std::string dims = std::to_string(options.dimensions);
  std::string settings = "INSERT INTO mx_settings(key, value) VALUES ('vector_mode', '" + std::string(vectorModeName(options.vectorMode)) +
                         "'), ('embedding_dimensions', '" + dims + "');\n";
  if (options.vectorMode == VectorMode::Pgvector) {
    return "CREATE EXTENSION IF NOT EXISTS vector;\n"
           "ALTER TABLE chunks ADD COLUMN embedding vector(" + dims + ");\n"
           "CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops);\n" + settings;
  }
  return "ALTER TABLE chunks ADD COLUMN embedding real[];\n"
         "ALTER TABLE chunks ADD COLUMN embedding_norm double precision;\n" + settings;
}

// The options the database was created with must be the ones asked for now.
Status checkSettings(pqxx::work& tx, const SchemaOptions& options) {
  std::string mode, dimensions;
  for (const auto& row : tx.exec("SELECT key, value FROM mx_settings")) {
    if (row[0].as<std::string>() == "vector_mode") mode = row[1].as<std::string>();
    if (row[0].as<std::string>() == "embedding_dimensions") dimensions = row[1].as<std::string>();
  }
  if (mode.empty()) return Status::ok();
  if (mode != vectorModeName(options.vectorMode) || dimensions != std::to_string(options.dimensions)) {
    return failedPreconditionError("postgres: the database was created with vector_search = \"" + mode + "\" and " + dimensions +
                                   " embedding dimensions; the config asks for \"" + vectorModeName(options.vectorMode) +
                                   "\" and " + std::to_string(options.dimensions) +
                                   " (re-ingest into a new database to change them)");
  }
  return Status::ok();
}

Status explainMissingExtension(Status status) {
  if (status.message().find("\"vector\"") == std::string::npos) return status;
  return failedPreconditionError(status.message() +
                                 " — the pgvector extension is not installed on this PostgreSQL server; install it "
                                 "(Supabase has it) or set vector_search = \"exact\" in the store's config");
}

// A run's events in one row per append (a turn's ~240 events were ~240 rows,
// each with two index entries: more database CPU than the rest of the turn).
const char* kRunEventBatches = R"SQL(
CREATE TABLE run_event_batches (run_id text NOT NULL, first_seq bigint NOT NULL, last_seq bigint NOT NULL,
  user_id text NOT NULL, conversation_id text NOT NULL, events text NOT NULL, PRIMARY KEY (run_id, first_seq));
CREATE INDEX run_event_batches_by_conversation ON run_event_batches(conversation_id);
INSERT INTO run_event_batches(run_id, first_seq, last_seq, user_id, conversation_id, events)
  SELECT run_id, min(seq), max(seq), user_id, conversation_id, json_agg(json_build_array(seq, event, data) ORDER BY seq)::text
  FROM run_events GROUP BY run_id, user_id, conversation_id;
DROP TABLE run_events;
)SQL";

// The columns each turn writes kilobytes into (its events, the final
// checkpoint, the messages and the artifact) compress with lz4 instead of the
// default pglz: measured on the benchmark's turn (~31 KB written), pglz was a
// fifth of PostgreSQL's CPU. Rows already stored keep their pglz form (both
// read back the same); a server built without lz4 keeps pglz. A turn's
// events (~20 KB, ~2.4 KB with lz4) and its checkpoint stay in their row up to
// 8 KB compressed instead of going to the TOAST table past 2 KB (an insert
// there and in its index per turn).
const char* kLz4Columns = R"SQL(
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
    ALTER TABLE run_event_batches ALTER COLUMN events SET COMPRESSION lz4;
    ALTER TABLE checkpoints ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE pending_writes ALTER COLUMN update_json SET COMPRESSION lz4;
    ALTER TABLE messages ALTER COLUMN content SET COMPRESSION lz4;
    ALTER TABLE artifacts ALTER COLUMN content SET COMPRESSION lz4;
    ALTER TABLE resources ALTER COLUMN content SET COMPRESSION lz4;
  END IF;
END $$;
ALTER TABLE run_event_batches SET (toast_tuple_target = 8160);
ALTER TABLE checkpoints SET (toast_tuple_target = 8160);
)SQL";

}  // namespace

const char* vectorModeName(VectorMode mode) { return mode == VectorMode::Pgvector ? "pgvector" : "exact"; }

std::vector<Migration> migrations(const SchemaOptions& options) {
  return {
      {1, "conversations, messages, artifacts, run events, checkpoints, canon, resources and chunks with tsvector", kCoreSchema},
      {2, std::string("chunk embeddings: ") + vectorModeName(options.vectorMode), vectorSchema(options)},
      {3, "run events in one row per batch", kRunEventBatches},
      {4, "lz4 compression for the large text columns (where the server has lz4); event batches and checkpoints inline up to 8 KB", kLz4Columns},
  };
}

Result<std::vector<int>> migrate(pqxx::connection& connection, const SchemaOptions& options) {
  auto all = migrations(options);
  auto applied = guarded("migrate", [&]() -> Result<std::vector<int>> {
    pqxx::work tx(connection);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
    tx.exec("CREATE TABLE IF NOT EXISTS mx_schema_migrations (version int PRIMARY KEY, description text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())");
    int current = tx.exec1("SELECT COALESCE(MAX(version), 0) FROM mx_schema_migrations")[0].as<int>();
    if (current > all.back().version) {
      return failedPreconditionError("postgres: the database has schema version " + std::to_string(current) +
                                     ", newer than this build knows (" + std::to_string(all.back().version) + ")");
    }
    if (current >= 2) MX_RETURN_IF_ERROR(checkSettings(tx, options));
    std::vector<int> done;
    for (const auto& migration : all) {
      if (migration.version <= current) continue;
      try {
        tx.exec(migration.sql);
      } catch (const std::exception& e) {
        return statusForException(e, "migration " + std::to_string(migration.version) + " (" + migration.description + ")");
      }
      tx.exec_params("INSERT INTO mx_schema_migrations(version, description) VALUES($1, $2)", migration.version,
                     migration.description);
      done.push_back(migration.version);
    }
    tx.commit();
    return done;
  });
  if (!applied) return explainMissingExtension(applied.status());
  return applied;
}

}  // namespace mx::pg
