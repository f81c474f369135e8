#include "wal_checkpointer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mx::sqlite {
namespace {

using namespace std::chrono_literals;

// A pool of `size` connections on a fresh database file in a directory of its
// own, watched by a WAL checkpointer; `t(k, v)` created. Removes it all at the end.
struct WatchedPool {
  WatchedPool(const std::string& name, WalPolicy policy, size_t size, Logger* logger = nullptr,
              WalCheckpointer::CheckpointCall call = &WalCheckpointer::checkpointNow)
      : dir(std::filesystem::temp_directory_path() / ("mx-wal-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    path = (dir / "db").string();
    auto waits = std::make_shared<WriteLockWaits>();
    auto started = WalCheckpointer::start(path, policy, waits, logger, call);
    EXPECT_TRUE(started.isOk()) << started.status().toString();
    if (!started.isOk()) return;
    checkpointer = std::move(*started);
    auto opened = Pool::open(path, size, 5000, waits, [this](Connection& c) { return checkpointer->watch(c); });
    EXPECT_TRUE(opened.isOk()) << opened.status().toString();
    if (!opened.isOk()) return;
    pool = std::move(*opened);
    EXPECT_TRUE(pool->acquire()->exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)").isOk());
  }
  ~WatchedPool() {
    pool.reset();
    checkpointer.reset();
    std::filesystem::remove_all(dir);
  }
  uintmax_t walBytes() const {
    std::error_code error;
    uintmax_t bytes = std::filesystem::file_size(path + "-wal", error);
    return error ? 0 : bytes;
  }
  // One row of ~4 KB, committed on its own: a page or two of WAL.
  static void insertRow(Connection& db) { ASSERT_TRUE(db.exec("INSERT INTO t(v) VALUES(zeroblob(4000))").isOk()); }
  // Opens a read transaction on `reader` and reads in it: it holds its snapshot until COMMIT.
  // The rows it sees.
  static int64_t holdSnapshot(Connection& reader) {
    if (!reader.exec("BEGIN").isOk()) return -1;
    auto count = reader.prepare("SELECT count(*) FROM t");
    return count.step() ? count.integer(0) : -1;
  }
  int64_t rows() {
    auto db = pool->acquire();
    auto count = db->prepare("SELECT count(*) FROM t");
    return count.step() ? count.integer(0) : -1;
  }

  std::filesystem::path dir;
  std::string path;
  std::unique_ptr<WalCheckpointer> checkpointer;  // outlives the pool, as in the store
  std::unique_ptr<Pool> pool;
};

// Readers that between them are always inside a read transaction (each holds
// one for a few milliseconds, and they overlap): SQLite's own checkpoint never
// finds a moment without a reader in the WAL.
class OverlappingReaders {
 public:
  OverlappingReaders(Pool& pool, int readers) {
    for (int i = 0; i < readers; ++i) {
      threads_.emplace_back([this, &pool, i] {
        auto db = pool.acquire();
        std::this_thread::sleep_for(std::chrono::milliseconds(i));  // staggered
        while (!stop_.load()) {
          ASSERT_TRUE(db->exec("BEGIN").isOk());
          {
            auto count = db->prepare("SELECT count(*) FROM t");
            ASSERT_TRUE(count.step());
          }
          std::this_thread::sleep_for(3ms);
          ASSERT_TRUE(db->exec("COMMIT").isOk());
        }
      });
    }
  }
  ~OverlappingReaders() {
    stop_.store(true);
    for (auto& thread : threads_) thread.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST(WalCheckpointer, KeepsTheWalBoundedWhileReadersNeverStop) {
  WalPolicy policy;
  policy.checkpointPages = 100;
  policy.backOff = 50ms;
  WatchedPool db("bounded", policy, 3);
  ASSERT_NE(db.pool, nullptr);
  uintmax_t largest = 0;
  {
    OverlappingReaders readers(*db.pool, 2);
    auto writer = db.pool->acquire();
    for (int i = 0; i < 4000; ++i) {  // ~48 MB of WAL if it never starts again (three pages a row)
      WatchedPool::insertRow(*writer);
      std::this_thread::sleep_for(50us);  // a server's writes come from several threads, not back to back
      if (i % 50 == 0) largest = std::max(largest, db.walBytes());
    }
  }
  EXPECT_EQ(db.rows(), 4000);
  auto counts = db.checkpointer->counts();
  // Bounded means started again and again while the readers never stop (23-42 restarts seen).
  EXPECT_GE(counts.restarts, 3u);
  EXPECT_EQ(counts.failures, 0u);
  // The threshold is 100 pages (~400 KB). The WAL runs past it while a cycle syncs the files, and
  // after a RESTART the readers outlast (100 ms, then the 50 ms back-off): ~6 MB on an idle disk.
  // How far the writer gets meanwhile is the disk's: 18.6 and 30.2 MB in CI runs with another test's
  // syncs beside it. A WAL never started again would reach ~48 MB.
  EXPECT_LT(largest, 36u * 1024 * 1024) << "the WAL grew to " << largest << " bytes (" << counts.cycles << " cycles, "
                                       << counts.restarts << " restarts, " << counts.busy << " busy)";
}

TEST(WalCheckpointer, AReaderThatStaysDelaysTheRestartAndTheWalIsCutBackOnceItLeaves) {
  WalPolicy policy;
  policy.checkpointPages = 50;
  policy.restartWaitMs = 20;
  policy.backOff = 10ms;
  WatchedPool db("reader", policy, 2);
  ASSERT_NE(db.pool, nullptr);
  auto reader = db.pool->acquire();
  auto writer = db.pool->acquire();
  ASSERT_EQ(WatchedPool::holdSnapshot(*reader), 0);
  // Writes go on while the reader stays (a RESTART gives up after 20 ms): ~1.2 MB of WAL, past its limit of 400 KB.
  for (int i = 0; i < 300; ++i) WatchedPool::insertRow(*writer);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (db.checkpointer->counts().busy == 0 && std::chrono::steady_clock::now() < deadline) {
    WatchedPool::insertRow(*writer);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_GE(db.checkpointer->counts().busy, 1u);
  EXPECT_EQ(db.checkpointer->counts().restarts, 0u);
  EXPECT_GT(db.walBytes(), 2u * 50 * 4096);
  ASSERT_TRUE(reader->exec("COMMIT").isOk());

  while (db.checkpointer->counts().restarts == 0 && std::chrono::steady_clock::now() < deadline) {
    WatchedPool::insertRow(*writer);
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_GE(db.checkpointer->counts().restarts, 1u);
  WatchedPool::insertRow(*writer);  // starts the WAL again, cut back to twice the threshold
  EXPECT_LE(db.walBytes(), 2u * 50 * 4096);
}

class CapturingLogger : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (level >= LogLevel::Warn) warnings_.emplace_back(message);
  }
  bool enabled(LogLevel) const override { return true; }
  std::vector<std::string> warnings() {
    std::lock_guard<std::mutex> lock(mutex_);
    return warnings_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> warnings_;
};

std::atomic<int> restartsTried{0};
std::atomic<int> truncatesTried{0};

// A checkpoint call whose `Mode` fails with an I/O error, counted in `tried`; the other modes run.
template <int Mode, std::atomic<int>& tried>
int failing(Connection& connection, int mode, int* walFrames, int* copiedFrames) {
  if (mode != Mode) return connection.checkpoint(mode, walFrames, copiedFrames);
  tried.fetch_add(1);
  return SQLITE_IOERR;
}

// The first warning says which checkpoint of which file failed, and SQLite's why.
void expectFirstWarningIsTheFailure(CapturingLogger& logger, const std::string& mode, const std::string& path) {
  auto warnings = logger.warnings();
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("WAL checkpoint (" + mode + ") of " + path + " failed: disk I/O error (SQLite code 10)"),
            std::string::npos)
      << warnings[0];
}

TEST(WalCheckpointer, AFailedCheckpointIsLoggedAndTriedAgainNoSoonerThanTheBackOff) {
  WalPolicy policy;
  policy.checkpointPages = 20;
  policy.backOff = 300ms;
  CapturingLogger logger;
  restartsTried.store(0);
  WatchedPool db("failing", policy, 1, &logger, &failing<SQLITE_CHECKPOINT_RESTART, restartsTried>);
  ASSERT_NE(db.pool, nullptr);
  auto writer = db.pool->acquire();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::optional<std::chrono::steady_clock::time_point> firstFailureSeen;
  // Every commit from the first failure on asks for a cycle; the back-off holds the next one back.
  while (restartsTried.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    WatchedPool::insertRow(*writer);
    if (!firstFailureSeen && restartsTried.load() == 1) firstFailureSeen = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(restartsTried.load(), 2);
  ASSERT_TRUE(firstFailureSeen.has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - *firstFailureSeen, 250ms);  // seen up to a few ms after it happened
  auto counts = db.checkpointer->counts();
  EXPECT_EQ(counts.failures, 2u);
  EXPECT_EQ(counts.restarts, 0u);
  expectFirstWarningIsTheFailure(logger, "RESTART", db.path);
}

// PASSIVE passes that report the WAL's size (and all of it copied) from a script; RESTART records
// how many passes came before it.
std::vector<int> scriptedWal;
std::atomic<int> passivePasses{0};
std::atomic<int> passesBeforeRestart{-1};

int scriptedPasses(Connection& /*connection*/, int mode, int* walFrames, int* copiedFrames) {
  int pass = mode == SQLITE_CHECKPOINT_PASSIVE ? passivePasses.fetch_add(1) : passivePasses.load();
  *walFrames = *copiedFrames = scriptedWal[std::min<size_t>(static_cast<size_t>(pass), scriptedWal.size() - 1)];
  if (mode != SQLITE_CHECKPOINT_PASSIVE) {
    int none = -1;
    passesBeforeRestart.compare_exchange_strong(none, pass);
  }
  return SQLITE_OK;
}

// The passes a cycle makes before its RESTART, for a WAL of 80 pages growing as `wal` says.
int passesBeforeTheRestart(const std::string& name, std::vector<int> wal) {
  scriptedWal = std::move(wal);
  passivePasses.store(0);
  passesBeforeRestart.store(-1);
  WalPolicy policy;
  policy.checkpointPages = 80;  // "little new": 10 pages or fewer since the last pass
  WatchedPool db(name, policy, 1, nullptr, &scriptedPasses);
  if (db.pool == nullptr) return -2;
  auto writer = db.pool->acquire();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (passesBeforeRestart.load() < 0 && std::chrono::steady_clock::now() < deadline) WatchedPool::insertRow(*writer);
  return passesBeforeRestart.load();
}

TEST(WalCheckpointer, CopiesAgainWithoutWaitingWhileAPassFindsMuchWrittenSinceTheLast) {
  // 80 new, then 20 (more than 10: again), then 5 (little: the RESTART next).
  EXPECT_EQ(passesBeforeTheRestart("passes", {80, 100, 105}), 3);
  // Writers always ahead: no more than four passes.
  EXPECT_EQ(passesBeforeTheRestart("most-passes", {80, 100, 120, 140, 160, 180}), 4);
}

// Polls until `done` holds or 10 s passed.
template <class Done>
bool eventually(Done&& done) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A threshold no test reaches: only the quiet spells copy.
WalPolicy quietSpellsOnly(std::chrono::milliseconds idle) {
  WalPolicy policy;
  policy.checkpointPages = 1000000;
  policy.restartWaitMs = 20;
  policy.idleCheckpoint = idle;
  return policy;
}

TEST(WalCheckpointer, OnceTheCommitsStopTheWalIsCopiedAndTruncated) {
  WatchedPool db("quiet", quietSpellsOnly(100ms), 2);
  ASSERT_NE(db.pool, nullptr);
  {
    auto writer = db.pool->acquire();
    for (int i = 0; i < 50; ++i) WatchedPool::insertRow(*writer);
  }
  EXPECT_TRUE(eventually([&] { return db.checkpointer->counts().idle >= 1 && db.walBytes() == 0; }));
  EXPECT_EQ(db.rows(), 50);
  // The next writes start a WAL again, and the next quiet spell empties it again.
  uint64_t copies = db.checkpointer->counts().idle;
  {
    auto writer = db.pool->acquire();
    for (int i = 0; i < 20; ++i) WatchedPool::insertRow(*writer);
  }
  EXPECT_TRUE(eventually([&] { return db.checkpointer->counts().idle > copies && db.walBytes() == 0; }));
  EXPECT_EQ(db.rows(), 70);
  EXPECT_EQ(db.checkpointer->counts().cycles, 0u);
  EXPECT_EQ(db.checkpointer->counts().failures, 0u);
}

TEST(WalCheckpointer, CommitsThatGoOnPutTheQuietSpellsCopyOff) {
  WatchedPool db("busy-writer", quietSpellsOnly(500ms), 1);
  ASSERT_NE(db.pool, nullptr);
  auto writer = db.pool->acquire();
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {  // a commit every ~10 ms: never 500 ms without one
    WatchedPool::insertRow(*writer);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(db.checkpointer->counts().idle, 0u);
  EXPECT_GT(db.walBytes(), 0u);
  EXPECT_TRUE(eventually([&] { return db.checkpointer->counts().idle == 1 && db.walBytes() == 0; }));
}

TEST(WalCheckpointer, AReaderInTheWalDelaysTheQuietSpellsCopyUntilItLeaves) {
  WatchedPool db("quiet-reader", quietSpellsOnly(50ms), 2);
  ASSERT_NE(db.pool, nullptr);
  auto reader = db.pool->acquire();
  auto writer = db.pool->acquire();
  ASSERT_EQ(WatchedPool::holdSnapshot(*reader), 0);
  // Written after the reader's snapshot: no TRUNCATE can finish while it stays (each gives up after
  // 20 ms, then waits for another quiet spell).
  for (int i = 0; i < 10; ++i) WatchedPool::insertRow(*writer);
  uint64_t copies = db.checkpointer->counts().idle;
  uint64_t busy = db.checkpointer->counts().busy;
  EXPECT_TRUE(eventually([&] { return db.checkpointer->counts().busy >= busy + 2; }));
  EXPECT_EQ(db.checkpointer->counts().idle, copies);
  EXPECT_GT(db.walBytes(), 0u);
  ASSERT_TRUE(reader->exec("COMMIT").isOk());
  EXPECT_TRUE(eventually([&] { return db.checkpointer->counts().idle > copies && db.walBytes() == 0; }));
  auto count = reader->prepare("SELECT count(*) FROM t");  // both of the pool's connections are held here
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.integer(0), 10);
  EXPECT_EQ(db.checkpointer->counts().failures, 0u);
}

TEST(WalCheckpointer, AFailedQuietSpellCopyIsLoggedAndTriedAgainAfterTheNextCommit) {
  CapturingLogger logger;
  truncatesTried.store(0);
  WatchedPool db("quiet-failing", quietSpellsOnly(50ms), 1, &logger, &failing<SQLITE_CHECKPOINT_TRUNCATE, truncatesTried>);
  ASSERT_NE(db.pool, nullptr);
  auto writer = db.pool->acquire();
  WatchedPool::insertRow(*writer);
  EXPECT_TRUE(eventually([&] { return truncatesTried.load() >= 1; }));
  int tried = truncatesTried.load();  // the table's creation may have had a quiet spell of its own
  std::this_thread::sleep_for(300ms);  // six quiet spells with no commit: not tried again
  EXPECT_EQ(truncatesTried.load(), tried);
  WatchedPool::insertRow(*writer);
  EXPECT_TRUE(eventually([&] { return truncatesTried.load() == tried + 1; }));
  auto counts = db.checkpointer->counts();
  EXPECT_EQ(counts.failures, static_cast<uint64_t>(tried + 1));
  EXPECT_EQ(counts.idle, 0u);
  EXPECT_GT(db.walBytes(), 0u);
  expectFirstWarningIsTheFailure(logger, "TRUNCATE", db.path);
}

TEST(WalCheckpointer, NoQuietSpellCopyWhenItIsOff) {
  WatchedPool db("quiet-off", quietSpellsOnly(0ms), 1);
  ASSERT_NE(db.pool, nullptr);
  {
    auto writer = db.pool->acquire();
    for (int i = 0; i < 10; ++i) WatchedPool::insertRow(*writer);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(db.checkpointer->counts().idle, 0u);
  EXPECT_GT(db.walBytes(), 0u);
}

TEST(WalCheckpointer, RefusesANegativeQuietSpell) {
  auto started = WalCheckpointer::start("unused.db", quietSpellsOnly(-1ms), std::make_shared<WriteLockWaits>(), nullptr);
  ASSERT_FALSE(started.isOk());
  EXPECT_EQ(started.status().code(), Code::InvalidArgument);
  EXPECT_EQ(started.status().message(), "wal_idle_checkpoint_ms must be 0 (never) or more");
}

TEST(WalCheckpointer, RefusesAThresholdBelowOnePage) {
  WalPolicy policy;
  policy.checkpointPages = 0;
  auto started = WalCheckpointer::start("unused.db", policy, std::make_shared<WriteLockWaits>(), nullptr);
  ASSERT_FALSE(started.isOk());
  EXPECT_EQ(started.status().code(), Code::InvalidArgument);
  EXPECT_EQ(started.status().message(), "wal_checkpoint_pages must be at least 1");
}

}  // namespace
}  // namespace mx::sqlite
