#include "sqlite_db.hpp"
#include "sqlite_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace mx::sqlite {
namespace {

TEST(SqliteDb, StatementsTransactionsAndErrors) {
  auto connection = Connection::open(":memory:", 100);
  ASSERT_TRUE(connection.isOk());
  auto& db = **connection;
  ASSERT_TRUE(db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)").isOk());
  std::vector<float> floats = {1.5f, -2.0f};
  ASSERT_TRUE(db.prepare("INSERT INTO t VALUES(?1, ?2)").bind(1, "a").bindBlob(2, floats.data(), 8).run().isOk());
  auto duplicate = db.prepare("INSERT INTO t VALUES(?1, NULL)").bind(1, "a").run();
  EXPECT_EQ(duplicate.code(), Code::AlreadyExists);
  {
    Transaction tx(db);
    ASSERT_TRUE(db.prepare("INSERT INTO t VALUES('b', NULL)").run().isOk());
  }  // rolled back
  auto select = db.prepare("SELECT k, v FROM t ORDER BY k");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.text(0), "a");
  EXPECT_EQ(select.floats(1), floats);
  EXPECT_FALSE(select.step());
  EXPECT_FALSE(db.prepare("SELEKT").prepared().isOk());
}

TEST(SqliteDb, FtsQueriesAreSanitised) {
  EXPECT_EQ(ftsQuery("Email subject-lines, \"best\" practices!"), "\"email\" OR \"subject\" OR \"lines\" OR \"best\" OR \"practices\"");
  EXPECT_EQ(ftsQuery("a ) ( NEAR"), "\"near\"");
  EXPECT_EQ(ftsQuery("  "), "");
}

TEST(SqliteStore, RefusesADatabaseFromTheFuture) {
  std::string path = std::filesystem::temp_directory_path() / ("mx-future-" + std::to_string(::getpid()) + ".db");
  {
    auto connection = Connection::open(path, 100);
    ASSERT_TRUE((*connection)->exec("PRAGMA user_version = 99").isOk());
  }
  auto store = SqliteStore::open({path, 8});
  EXPECT_EQ(store.status().code(), Code::FailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mx::sqlite
