#include "sqlite_db.hpp"
#include "sqlite_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

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

TEST(SqliteDb, CachedStatementsComeBackResetAndNestedUsesGetTheirOwn) {
  auto connection = Connection::open(":memory:", 100);
  ASSERT_TRUE(connection.isOk());
  auto& db = **connection;
  ASSERT_TRUE(db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)").isOk());
  const char* insert = "INSERT INTO t VALUES(?1, ?2)";
  ASSERT_TRUE(db.prepare(insert).bind(1, "a").bind(2, "first").run().isOk());
  // The cached INSERT again: its old bindings are cleared (v is NULL, not "first").
  ASSERT_TRUE(db.prepare(insert).bind(1, "b").run().isOk());
  const char* select = "SELECT k, v FROM t ORDER BY k";
  auto outer = db.prepare(select);
  ASSERT_TRUE(outer.step());
  {
    auto inner = db.prepare(select);  // the outer one is in use: a statement of its own
    ASSERT_TRUE(inner.step());
    EXPECT_EQ(inner.text(0), "a");
  }
  ASSERT_TRUE(outer.step());
  EXPECT_EQ(outer.text(0), "b");
  EXPECT_TRUE(outer.isNull(1));
  // More distinct statements than the cache holds still work.
  for (int i = 0; i < 200; ++i) {
    auto s = db.prepare("SELECT " + std::to_string(i));
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.integer(0), i);
  }
  // A statement that failed is not cached: the next use starts clean.
  EXPECT_EQ(db.prepare(insert).bind(1, "a").run().code(), Code::AlreadyExists);
  EXPECT_TRUE(db.prepare(insert).bind(1, "c").run().isOk());
}

TEST(SqliteDb, FtsQueriesAreSanitised) {
  EXPECT_EQ(ftsQuery("Email subject-lines, \"best\" practices!"), "\"email\" OR \"subject\" OR \"lines\" OR \"best\" OR \"practices\"");
  EXPECT_EQ(ftsQuery("a ) ( NEAR"), "\"near\"");
  EXPECT_EQ(ftsQuery("  "), "");
}

// Two connections of one pool on a fresh database file with a table `t`: one to
// hold the write lock, one to wait for it. Removes the file and its WAL at the end.
struct TwoWriters {
  TwoWriters(const std::string& name, int busyTimeoutMs)
      : path(std::filesystem::temp_directory_path() / ("mx-" + name + "-" + std::to_string(::getpid()) + ".db")) {
    removeFiles();
    auto opened = Pool::open(path, 2, busyTimeoutMs);
    EXPECT_TRUE(opened.isOk()) << opened.status().toString();
    if (!opened.isOk()) return;
    pool = std::move(*opened);
    holder.emplace(pool->acquire());
    waiter.emplace(pool->acquire());
    EXPECT_TRUE((*holder)->exec("CREATE TABLE t (k TEXT)").isOk());
  }
  ~TwoWriters() {
    holder.reset();
    waiter.reset();
    pool.reset();
    removeFiles();
  }
  void removeFiles() const {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  std::string path;
  std::unique_ptr<Pool> pool;
  std::optional<Pool::Lease> holder, waiter;
};

// A writer of the pool that finds the write lock taken waits for the holder's
// commit (woken by it, not polling on SQLite's sleeps) and then writes.
TEST(SqliteDb, AWriterWaitsForThePoolsOtherWriterAndThenWrites) {
  TwoWriters db("writers", 5000);
  ASSERT_TRUE(db.pool);
  auto holding = std::make_unique<Transaction>(**db.holder);
  ASSERT_TRUE((*db.holder)->exec("INSERT INTO t VALUES('first')").isOk());
  auto started = std::chrono::steady_clock::now();
  Status waited;
  std::chrono::steady_clock::duration took{};
  std::thread second([&] {
    Transaction tx(**db.waiter);
    Status inserted = (*db.waiter)->exec("INSERT INTO t VALUES('second')");
    waited = inserted.isOk() ? tx.commit() : inserted;
    took = std::chrono::steady_clock::now() - started;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ASSERT_TRUE(holding->commit().isOk());
  second.join();
  EXPECT_TRUE(waited.isOk()) << waited.toString();
  EXPECT_GE(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::milliseconds(4000));
  auto count = (*db.holder)->prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.integer(0), 2);
}

// The busy timeout still bounds the wait: a writer gives up with Unavailable.
TEST(SqliteDb, AWriterGivesUpAfterTheBusyTimeout) {
  TwoWriters db("busy", 100);
  ASSERT_TRUE(db.pool);
  Transaction holding(**db.holder);
  auto started = std::chrono::steady_clock::now();
  Status inserted = (*db.waiter)->exec("INSERT INTO t VALUES('late')");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(inserted.code(), Code::Unavailable) << inserted.toString();
  EXPECT_GE(took, std::chrono::milliseconds(100));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
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
