// store_sqlite against the store conformance suite.
#include <filesystem>

#include "process.hpp"
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

}  // namespace
}  // namespace mx::test
