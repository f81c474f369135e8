// store_postgres against real servers: the store conformance suite on Debian's
// PostgreSQL (vector_search = "exact", no pgvector in Debian 12) and on PGlite
// with the real pgvector extension (HNSW); migrations, the pool, a server
// restart, and pgvector's filtered HNSW search.
#include <atomic>
#include <thread>

#include <pqxx/pqxx>

#include "pg_migrations.hpp"
#include "pg_pool.hpp"
#include "pg_sql.hpp"
#include "pg_store.hpp"
#include "postgres_server.hpp"
#include "store_conformance.hpp"

namespace mx::test {
namespace {

PostgresServer& debianServer() {
  static PostgresServer server;
  return server;
}

PgliteServer& pgliteServer() {
  static PgliteServer server;
  return server;
}

pg::StoreConfig configFor(const std::string& url, pg::VectorMode mode, int dimensions = 16, size_t poolSize = 4) {
  pg::StoreConfig config;
  config.pool.url = url;
  config.pool.size = poolSize;
  config.schema.dimensions = dimensions;
  config.schema.vectorMode = mode;
  return config;
}

// PGlite is one backend behind all its connections: the messages of two
// clients' queries would interleave, so the pool has one connection, and named
// prepared statements would outlive it (as behind a transaction-mode pooler:
// this also covers prepared_statements = false).
pg::StoreConfig pgliteConfig() {
  auto config = configFor(pgliteServer().url(), pg::VectorMode::Pgvector, 16, 1);
  config.pool.preparedStatements = false;
  return config;
}

std::string freshDatabase() {
  static std::atomic<int> counter{0};
  return debianServer().createDatabase("mx_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
}

std::shared_ptr<Store> makeDebianPostgres() {
  if (!debianServer().error().empty()) {
    ADD_FAILURE() << debianServer().error();
    return nullptr;
  }
  auto store = pg::PostgresStore::open(configFor(freshDatabase(), pg::VectorMode::Exact));
  EXPECT_TRUE(store.isOk()) << store.status().toString();
  return store ? std::shared_ptr<Store>(std::move(*store)) : nullptr;
}

std::shared_ptr<Store> makePglite() {
  if (!pgliteServer().error().empty()) {
    ADD_FAILURE() << pgliteServer().error();
    return nullptr;
  }
  pgliteServer().reset();
  auto store = pg::PostgresStore::open(pgliteConfig());
  EXPECT_TRUE(store.isOk()) << store.status().toString();
  return store ? std::shared_ptr<Store>(std::move(*store)) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance,
                         ::testing::Values(NamedStoreFactory{"postgres15_exact", makeDebianPostgres},
                                           NamedStoreFactory{"pglite_pgvector", makePglite}),
                         [](const auto& param) { return param.param.name; });

// A database as an older build left it: the migrations up to `lastVersion`, recorded.
void migrateUpTo(pqxx::work& tx, const pg::SchemaOptions& options, int lastVersion) {
  tx.exec("CREATE TABLE mx_schema_migrations (version int PRIMARY KEY, description text NOT NULL, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& migration : pg::migrations(options)) {
    if (migration.version > lastVersion) break;
    tx.exec(migration.sql);
    tx.exec_params0("INSERT INTO mx_schema_migrations(version, description) VALUES($1, $2)", migration.version,
                    migration.description);
  }
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(debianServer().error(), ""); }
};

TEST_F(PostgresStoreTest, MigrationsApplyOnceAndAreRecorded) {
  std::string url = freshDatabase();
  {
    auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
    ASSERT_TRUE(store.isOk()) << store.status().toString();
    EXPECT_EQ((*store)->appliedMigrations(), (std::vector<int>{1, 2, 3, 4}));
  }
  auto again = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
  ASSERT_TRUE(again.isOk());
  EXPECT_TRUE((*again)->appliedMigrations().empty());
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM mx_schema_migrations")[0].as<int>(), 4);
}

// A database made before run events were batched: its event rows move into
// batches, and a replay reads them as before.
TEST_F(PostgresStoreTest, RunEventRowsOfAnOlderSchemaMoveIntoBatches) {
  std::string url = freshDatabase();
  pg::SchemaOptions options{16, pg::VectorMode::Exact};
  {
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    migrateUpTo(tx, options, 2);
    tx.exec0("INSERT INTO conversations VALUES ('c1', 'alice', 'Old', 0, 1, 1)");
    tx.exec0("INSERT INTO run_events VALUES ('run1', 2, 'alice', 'c1', 'done', '{}'), "
             "('run1', 1, 'alice', 'c1', 'message', 'caf\u00e9 \"quoted\"'), ('run2', 1, 'bob', 'c2', 'thinking', '{}')");
    tx.commit();
  }
  auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
  ASSERT_TRUE(store.isOk()) << store.status().toString();
  EXPECT_EQ((*store)->appliedMigrations(), (std::vector<int>{3, 4}));
  auto events = (*store)->runEvents("alice", "run1", 0);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].sequence, 1);
  EXPECT_EQ((*events)[0].data, "caf\u00e9 \"quoted\"");
  EXPECT_EQ((*events)[1].event, "done");
  EXPECT_EQ((*store)->runEvents("bob", "run2", 0)->size(), 1u);
}

// Debian's PostgreSQL 15 has lz4: a turn's large columns use it, event batches
// stay in their row, and a batch stored before the migration (pglz, out of
// line) still replays beside one stored after.
TEST_F(PostgresStoreTest, LargeTextColumnsCompressWithLz4StayInlineAndOlderRowsStillRead) {
  std::string url = freshDatabase();
  pg::SchemaOptions options{16, pg::VectorMode::Exact};
  std::string longText;
  for (int i = 0; i < 400; ++i) longText += "spring savings start today " + std::to_string(i % 7) + " ";
  {
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    migrateUpTo(tx, options, 3);
    tx.exec_params0("INSERT INTO run_event_batches VALUES ('run1', 1, 1, 'alice', 'c1', $1)",
                    nlohmann::json::array({nlohmann::json::array({1, "message", longText})}).dump());
    tx.commit();
  }
  auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
  ASSERT_TRUE(store.isOk()) << store.status().toString();
  EXPECT_EQ((*store)->appliedMigrations(), (std::vector<int>{4}));
  ASSERT_TRUE((*store)->appendRunEvents("alice", "c1", "run1", {{2, "message", longText}}).isOk());

  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  for (const char* column : {"run_event_batches.events", "checkpoints.body", "pending_writes.update_json", "messages.content",
                             "artifacts.content", "resources.content"}) {
    std::string name(column);
    auto dot = name.find('.');
    EXPECT_EQ(tx.exec_params1("SELECT attcompression FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
                              name.substr(0, dot), name.substr(dot + 1))[0].as<std::string>(), "l") << column;
  }
  for (const char* table : {"run_event_batches", "checkpoints"}) {
    EXPECT_EQ(tx.exec_params1("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = $1", table)[0].as<std::string>(),
              "toast_tuple_target=8160") << table;
  }
  auto methods = tx.exec("SELECT first_seq, pg_column_compression(events) FROM run_event_batches ORDER BY first_seq");
  ASSERT_EQ(methods.size(), 2u);
  EXPECT_EQ(methods[0][1].as<std::string>(), "pglz");
  EXPECT_EQ(methods[1][1].as<std::string>(), "lz4");
  auto events = (*store)->runEvents("alice", "run1", 0);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].data, longText);
  EXPECT_EQ((*events)[1].data, longText);
  tx.commit();

  // 6 KB that no compressor shrinks: past the default 2 KB target it would go to the TOAST table.
  std::string random;
  uint32_t seed = 12345;
  for (int i = 0; i < 6000; ++i) random += "0123456789abcdef"[(seed = seed * 1103515245u + 12345u) >> 28];
  ASSERT_TRUE((*store)->appendRunEvents("alice", "c1", "run1", {{3, "message", random}}).isOk());
  pqxx::read_transaction after(connection);
  EXPECT_EQ(after.exec1("SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'run_event_batches'")[0].as<int64_t>(), 0);
  EXPECT_GT(after.exec1("SELECT pg_column_size(events) FROM run_event_batches WHERE first_seq = 3")[0].as<int>(), 6000);
  EXPECT_EQ((*store)->runEvents("alice", "run1", 2)->at(0).data, random);
}

TEST_F(PostgresStoreTest, AnUnreadableEventBatchIsDataLossNotAnEmptyReplay) {
  std::string url = freshDatabase();
  auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
  ASSERT_TRUE(store.isOk()) << store.status().toString();
  {
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    tx.exec0("INSERT INTO run_event_batches VALUES ('run1', 1, 2, 'alice', 'c1', '[[1,\"thinking\"')");
    tx.commit();
  }
  auto events = (*store)->runEvents("alice", "run1", 0);
  EXPECT_EQ(events.status().code(), Code::DataLoss);
  EXPECT_NE(events.status().message().find("run1"), std::string::npos) << events.status().message();
}

TEST_F(PostgresStoreTest, TwoServersStartingAtOnceMigrateOnce) {
  std::string url = freshDatabase();
  std::vector<Status> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
      results[static_cast<size_t>(i)] = store.status();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(results[0].isOk()) << results[0].toString();
  EXPECT_TRUE(results[1].isOk()) << results[1].toString();
}

TEST_F(PostgresStoreTest, ADatabaseFromTheFutureIsRefused) {
  std::string url = freshDatabase();
  ASSERT_TRUE(pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact)).isOk());
  {
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    tx.exec0("INSERT INTO mx_schema_migrations(version, description) VALUES (99, 'from a newer build')");
    tx.commit();
  }
  auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact));
  EXPECT_EQ(store.status().code(), Code::FailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos) << store.status().message();
}

TEST_F(PostgresStoreTest, AnotherEmbeddingSizeIsRefusedWithBothSizes) {
  std::string url = freshDatabase();
  ASSERT_TRUE(pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact, 16)).isOk());
  auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Exact, 1536));
  EXPECT_EQ(store.status().code(), Code::FailedPrecondition);
  EXPECT_NE(store.status().message().find("16 embedding dimensions"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("1536"), std::string::npos);
}

TEST_F(PostgresStoreTest, PgvectorMissingOnTheServerSaysHowToFixItAndChangesNothing) {
  std::string url = freshDatabase();
  auto store = pg::PostgresStore::open(configFor(url, pg::VectorMode::Pgvector));
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), Code::FailedPrecondition);
  EXPECT_NE(store.status().message().find("pgvector extension is not installed"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("vector_search = \"exact\""), std::string::npos);
  pqxx::connection connection(url);
  pqxx::read_transaction tx(connection);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_tables WHERE tablename = 'resources'")[0].as<int>(), 0);  // rolled back
}

TEST_F(PostgresStoreTest, AWrongDatabaseNameIsAClearStartUpError) {
  auto store = pg::PostgresStore::open(configFor(debianServer().url("no_such_database"), pg::VectorMode::Exact));
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), Code::Unavailable);
  EXPECT_NE(store.status().message().find("no_such_database"), std::string::npos) << store.status().message();
}

TEST_F(PostgresStoreTest, ABusyPoolTimesOutWithUnavailable) {
  pg::PoolConfig config;
  config.url = freshDatabase();
  config.size = 1;
  config.acquireTimeoutMs = 200;
  auto pool = pg::Pool::open(config);
  ASSERT_TRUE(pool.isOk());
  auto held = (*pool)->acquire();
  ASSERT_TRUE(held.isOk());
  auto waited = (*pool)->acquire();
  EXPECT_EQ(waited.status().code(), Code::Unavailable);
  EXPECT_NE(waited.status().message().find("busy"), std::string::npos);
}

TEST_F(PostgresStoreTest, ARestartedServerCostsOnlyTheCallsInFlight) {
  auto store = pg::PostgresStore::open(configFor(freshDatabase(), pg::VectorMode::Exact));
  ASSERT_TRUE(store.isOk());
  ASSERT_TRUE((*store)->putConversation({"c1", "alice", "t", 0, 1, 1}).isOk());
  debianServer().stop();
  auto down = (*store)->getConversation("alice", "c1");
  EXPECT_EQ(down.status().code(), Code::Unavailable) << down.status().toString();
  EXPECT_EQ((*store)->health().code(), Code::Unavailable);
  debianServer().start();
  ASSERT_EQ(debianServer().error(), "");
  auto up = (*store)->getConversation("alice", "c1");
  ASSERT_TRUE(up.isOk()) << up.status().toString();
  EXPECT_EQ(up->title, "t");
  EXPECT_TRUE((*store)->health().isOk());
}

std::vector<float> unit(int dims, int hot, float noise) {
  std::vector<float> v(static_cast<size_t>(dims), noise);
  v[static_cast<size_t>(hot % dims)] = 1.0f;
  return v;
}

TEST(PgliteStore, FilteredHnswSearchFindsTheUsersChunksAmongManyOthers) {
  ASSERT_EQ(pgliteServer().error(), "");
  pgliteServer().reset();
  {
    auto opened = pg::PostgresStore::open(pgliteConfig());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    auto& store = **opened;
    // 600 of bob's chunks right next to the query, 8 of alice's further away:
    // an HNSW scan that filtered after its first candidates would find none of alice's.
    std::vector<ChunkRecord> bobs;
    for (int i = 0; i < 600; ++i) bobs.push_back({"b" + std::to_string(i), "rb", i, "", "bob text", unit(16, 3, 0.001f * static_cast<float>(i % 7))});
    ASSERT_TRUE(store.putResource({"rb", "bob", "Bob", "handbook", "text", "", 0, "m", 1}, bobs).isOk());
    std::vector<ChunkRecord> alices;
    for (int i = 0; i < 8; ++i) alices.push_back({"a" + std::to_string(i), "ra", i, "", "alice text", unit(16, i, 0.05f)});
    ASSERT_TRUE(store.putResource({"ra", "alice", "Alice", "handbook", "text", "", 0, "m", 1}, alices).isOk());
    auto hits = store.searchVector({"alice", "", unit(16, 3, 0.0f), 5, {}, {}});
    ASSERT_TRUE(hits.isOk()) << hits.status().toString();
    ASSERT_EQ(hits->size(), 5u);
    EXPECT_EQ((*hits)[0].chunkId, "a3");
    for (const auto& hit : *hits) EXPECT_EQ(hit.resourceId, "ra");
  }
  // The store is closed (PGlite serves one connection): look at the plan.
  pqxx::connection connection(pgliteServer().url());
  pqxx::work tx(connection);
  tx.exec0("SET enable_seqscan = off");
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN SELECT id FROM chunks ORDER BY embedding <=> '" + pg::vectorLiteral(unit(16, 3, 0)) +
                                 "'::vector LIMIT 5")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("chunks_embedding_hnsw"), std::string::npos) << plan;
}

}  // namespace
}  // namespace mx::test
