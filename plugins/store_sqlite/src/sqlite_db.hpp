// Thin RAII over sqlite3: connections, prepared statements, transactions and a
// pool. SQLite in WAL mode lets readers run while one writer writes; each
// connection is used by one thread at a time (the pool hands them out), and
// writes wait up to `busy_timeout` for the write lock: the pool's writers wait
// for each other on a condition variable (WriteLockWaits), woken when a
// statement ends, instead of in SQLite's default busy handler, which sleeps 1,
// 2, 5, 10… ms between tries (two writers of a busy server lost whole
// milliseconds each time they met); a writer in another process is still
// tried for every millisecond.
// Each connection keeps its prepared statements (a bounded cache keyed by the
// SQL text): parsing the same INSERT on every checkpoint was a fifth of the
// graph runtime's CPU (bench/run.sh --graph, perf).
// Errors come back as Status (Unavailable for busy/locked/IO, Internal otherwise).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mx/status.hpp"

namespace mx::sqlite {

class Connection;

// Where the connections of one pool wait for SQLite's write lock. Thread-safe.
class WriteLockWaits {
 public:
  // How many statements have ended so far (the write lock can only have been released then).
  uint64_t releases() const { return releases_.load(); }
  // A statement ended: wakes the writers waiting (an atomic increment when none is).
  void released();
  // Waits until a statement ends after `seen` releases, or until `until`; the releases then.
  uint64_t waitForRelease(uint64_t seen, std::chrono::steady_clock::time_point until);

 private:
  std::atomic<uint64_t> releases_{0};
  std::atomic<int> waiting_{0};
  std::mutex mutex_;
  std::condition_variable released_;
};

// A prepared statement borrowed from its connection's cache: reset and
// returned when destroyed.
class Statement {
 public:
  Statement(Connection& connection, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const Status& prepared() const { return status_; }
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bindBlob(int index, const void* data, size_t size);
  Statement& bindNull(int index);
  // SQLITE_ROW -> true; SQLITE_DONE -> false; errors set status().
  bool step();
  Status run();  // step until done
  const Status& status() const { return status_; }

  std::string text(int column) const;
  int64_t integer(int column) const;
  double real(int column) const;
  std::vector<float> floats(int column) const;
  bool isNull(int column) const;

 private:
  Connection& connection_;
  sqlite3* db_;
  std::string sql_;
  sqlite3_stmt* statement_ = nullptr;
  Status status_;
};

class Connection {
 public:
  // `waits` is shared by the connections that should wake each other (a pool's); a
  // connection opened alone gets its own.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, int busyTimeoutMs,
                                                  std::shared_ptr<WriteLockWaits> waits = nullptr);
  ~Connection();
  sqlite3* handle() const { return db_; }
  // Runs one statement without results (through the statement cache).
  Status exec(std::string_view sql);
  // Runs a script of several statements (migrations); not cached.
  Status execScript(const std::string& sql);
  Statement prepare(std::string_view sql) { return Statement(*this, sql); }
  // sqlite3_wal_checkpoint_v2 of the main database in `mode` (SQLITE_CHECKPOINT_*), waiting
  // through this connection's busy handler as a statement does; SQLite's result code.
  int checkpoint(int mode, int* walFrames, int* checkpointedFrames);

 private:
  friend class Statement;
  static constexpr size_t kCachedStatements = 64;
  Connection(sqlite3* db, std::chrono::milliseconds busyTimeout, std::shared_ptr<WriteLockWaits> waits)
      : db_(db), busyTimeout_(busyTimeout), waits_(std::move(waits)) {}
  // SQLite's busy handler: 1 to try the lock again, 0 to give up (SQLITE_BUSY).
  static int onBusy(void* connection, int triesSoFar);
  void beforeStep() { releasesBeforeStep_ = waits_->releases(); }
  void afterStatement() { waits_->released(); }
  // The cached statement for `sql` (taken out of the cache), or null.
  sqlite3_stmt* takeCached(const std::string& sql);
  // Back into the cache, or finalized when the cache is full or holds one already.
  void giveBack(std::string sql, sqlite3_stmt* statement);

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  std::chrono::milliseconds busyTimeout_;
  std::shared_ptr<WriteLockWaits> waits_;
  uint64_t releasesBeforeStep_ = 0;   // a release after this may have freed the lock the step found taken
  uint64_t releasesSeen_ = 0;         // the releases the busy handler last woke for
  std::chrono::steady_clock::time_point busySince_;
};

// Statuses for sqlite result codes.
Status statusFor(sqlite3* db, int code, std::string_view what);

class Pool {
 public:
  // `waits` is shared with connections outside the pool that take the write lock too (the
  // WAL checkpointer's); `prepare` runs on each connection once it is open.
  static Result<std::unique_ptr<Pool>> open(const std::string& path, size_t size, int busyTimeoutMs,
                                            std::shared_ptr<WriteLockWaits> waits = nullptr,
                                            const std::function<Status(Connection&)>& prepare = {});

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> connection) : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (connection_) pool_->release(std::move(connection_));
    }
    Connection* operator->() const { return connection_.get(); }
    Connection& operator*() const { return *connection_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  Lease acquire();

 private:
  void release(std::unique_ptr<Connection> connection);
  std::shared_ptr<WriteLockWaits> waits_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  const Status& begun() const { return begun_; }
  Status commit();

 private:
  Connection& connection_;
  Status begun_;
  bool done_ = false;
};

}  // namespace mx::sqlite
