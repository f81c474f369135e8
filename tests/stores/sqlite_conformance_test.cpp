// store_sqlite against the store conformance suite.
#include <filesystem>

#include "process.hpp"
#include "sqlite_db.hpp"
#include "sqlite_store.hpp"
#include "store_conformance.hpp"

namespace mx::test {
namespace {

std::shared_ptr<Store> makeSqlite() {
  static int counter = 0;
  static TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/store-" + std::to_string(++counter) + ".db";
  config.dimensions = 16;
  auto store = sqlite::SqliteStore::open(config);
  EXPECT_TRUE(store.isOk()) << store.status().toString();
  return std::shared_ptr<Store>(std::move(*store));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(NamedStoreFactory{"sqlite", makeSqlite}),
                         [](const auto& param) { return param.param.name; });

TEST(SqliteStore, VectorsSurviveAReopen) {
  TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/reopen.db";
  config.dimensions = 4;
  {
    auto store = sqlite::SqliteStore::open(config);
    ASSERT_TRUE((*store)->putResource({"r", "u", "T", "handbook", "text", "", 0, "m", 1},
                                      {{"c", "r", 0, "", "hello world", {0, 1, 0, 0}}}).isOk());
  }
  auto store = sqlite::SqliteStore::open(config);
  auto hits = (*store)->searchVector({"u", "", {0, 1, 0, 0}, 1, {}, {}});
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunkId, "c");
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-5);
}

// A database of schema version 1 kept a row per run event: they move into
// batches, and a replay reads them as before; an unreadable batch is DataLoss.
TEST(SqliteStore, RunEventRowsOfAnOlderSchemaMoveIntoBatches) {
  TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/old.db";
  config.dimensions = 4;
  ASSERT_TRUE(sqlite::SqliteStore::open(config).isOk());
  {
    auto connection = sqlite::Connection::open(config.path, 100);
    ASSERT_TRUE(connection.isOk());
    ASSERT_TRUE((*connection)->execScript(R"SQL(
DROP TABLE run_event_batches;
CREATE TABLE run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  event TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq));
INSERT INTO run_events VALUES ('run1', 2, 'alice', 'c1', 'done', '{}'), ('run1', 1, 'alice', 'c1', 'message', 'café "q"'),
  ('run2', 1, 'bob', 'c2', 'thinking', '{}');
PRAGMA user_version = 1;
)SQL").isOk());
  }
  auto store = sqlite::SqliteStore::open(config);
  ASSERT_TRUE(store.isOk()) << store.status().toString();
  auto events = (*store)->runEvents("alice", "run1", 0);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].data, "caf\xC3\xA9 \"q\"");
  EXPECT_EQ((*events)[1].event, "done");
  EXPECT_EQ((*store)->runEvents("bob", "run2", 0)->size(), 1u);
  {
    auto connection = sqlite::Connection::open(config.path, 100);
    ASSERT_TRUE((*connection)->exec("INSERT INTO run_event_batches VALUES ('run3', 1, 2, 'alice', 'c1', '[[1,')").isOk());
  }
  auto broken = (*store)->runEvents("alice", "run3", 0);
  EXPECT_EQ(broken.status().code(), Code::DataLoss);
  EXPECT_NE(broken.status().message().find("run3"), std::string::npos) << broken.status().message();
}

}  // namespace
}  // namespace mx::test
