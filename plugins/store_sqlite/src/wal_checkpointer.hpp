// WalCheckpointer — SQLite's WAL checkpoints on a thread of their own, and a
// write-ahead log that stays bounded while readers never stop.
//
// What: by default SQLite copies the WAL back into the database file (a
// checkpoint) in the thread that commits, once the WAL holds 1,000 pages, and
// in the PASSIVE mode, which never waits for a reader. The WAL starts again
// from its beginning only when a writer finds it wholly copied and no reader
// in it; a busy server always has a reader somewhere in the WAL, so it never
// started again: it grew without bound (600 MB in 6,000 benchmark turns), and
// every few commits past the threshold sorted the WAL's index again to copy a
// few pages (a third of SQLite's instructions in a benchmark turn).
// Here each pool connection only reports the WAL's size after its commits
// (sqlite3_wal_hook, which replaces the automatic checkpoint). Past
// `checkpointPages` this thread checkpoints PASSIVE (the bulk of the copy,
// blocking no one; again while the last pass found much written since the
// one before, up to four passes), then RESTART: it copies what was written
// meanwhile under the write lock and waits, up to `restartWaitMs`, for the
// readers still in the old WAL to finish (new readers read the database
// file), so that the next writer starts the WAL from its beginning. A reader
// that stays longer ends the RESTART busy; the thread tries again after the
// next commit, no sooner than `backOff` (so too after a checkpoint that
// failed, which is logged). Writers wait for the write lock during a RESTART
// as for another writer: at most `restartWaitMs` plus the copy of what was
// written since the last PASSIVE pass.
// Once the commits stop for `idleCheckpoint`, the thread copies what the WAL
// still holds and truncates it (SQLite's TRUNCATE mode, waiting for readers as
// a RESTART does). Below the threshold nothing else would copy it until the
// writes come back: the pages written last (a document just ingested) stayed
// in the WAL, where every read looks them up in its index and reads them with
// a system call, and the database file grew under the other connections'
// memory maps, which SQLite extends only when the WAL's header changes (a
// TRUNCATE changes it; a PASSIVE or RESTART checkpoint leaves it): their reads
// of the new pages went through pread too. At 100,000 chunks just ingested,
// that was about a quarter of knowledge-search's time and most of its tail.
// Thread-safety: watch() each connection before it is used; the commit hook
// runs on any thread; counts() from any thread.
// Ownership: opens and owns a connection of its own to the database; must
// outlive the connections it watches (their hooks point at it).
// Blocking: the hook never blocks (atomics, and a notify when a cycle is
// first asked for or a commit is the first since a quiet spell's copy); the
// destructor stops and joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mx/log.hpp"
#include "mx/status.hpp"
#include "sqlite_db.hpp"

namespace mx::sqlite {

struct WalPolicy {
  // The threshold's and the quiet spell's rules, for the config's check as for start().
  static Status checkPages(int64_t pages) {
    return pages < 1 ? invalidArgumentError("wal_checkpoint_pages must be at least 1") : Status::ok();
  }
  static Status checkIdleMs(int64_t ms) {
    return ms < 0 ? invalidArgumentError("wal_idle_checkpoint_ms must be 0 (never) or more") : Status::ok();
  }

  int64_t checkpointPages = 4000;  // a cycle once the WAL holds this many pages
  int restartWaitMs = 100;         // how long a RESTART waits for the write lock and for readers
  std::chrono::milliseconds backOff{250};  // after a RESTART a reader outlasted, or a failed checkpoint
  std::chrono::milliseconds idleCheckpoint{1000};  // commits stopped this long: the WAL copied and truncated (0: never)
};

class WalCheckpointer {
 public:
  // One checkpoint of the connection's database in a SQLITE_CHECKPOINT_* mode: SQLite's result
  // code (Connection::checkpoint; a test's stand-in makes it fail).
  using CheckpointCall = int (*)(Connection& connection, int mode, int* walFrames, int* copiedFrames);

  // Opens the checkpointer's connection to `path` (sharing `waits` with the
  // pool, so that writers waiting on a RESTART wake when it ends) and starts
  // its thread. `logger` may be null.
  static Result<std::unique_ptr<WalCheckpointer>> start(const std::string& path, WalPolicy policy,
                                                        std::shared_ptr<WriteLockWaits> waits, Logger* logger,
                                                        CheckpointCall checkpoint = &checkpointNow);
  static int checkpointNow(Connection& connection, int mode, int* walFrames, int* copiedFrames) {
    return connection.checkpoint(mode, walFrames, copiedFrames);
  }
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Makes `connection` report its commits here instead of checkpointing
  // itself, and truncate a WAL it starts again to twice the threshold.
  Status watch(Connection& connection);

  struct Counts {
    uint64_t cycles = 0;     // PASSIVE then RESTART, each time the WAL passed the threshold
    uint64_t restarts = 0;   // RESTARTs that completed: the next writer starts the WAL again
    uint64_t busy = 0;       // RESTARTs (and quiet spells' TRUNCATEs) a reader outlasted
    uint64_t failures = 0;   // checkpoints that failed otherwise (logged)
    uint64_t idle = 0;       // TRUNCATEs once the commits stopped that completed: the WAL is empty
  };
  Counts counts() const;

 private:
  WalCheckpointer(WalPolicy policy, std::unique_ptr<Connection> connection, Logger* logger, int64_t pageBytes,
                  CheckpointCall checkpoint);
  static int onCommit(void* self, sqlite3* db, const char* database, int walPages);
  void run();
  // One cycle; true when the next should wait `backOff` (a reader stayed, or a checkpoint failed).
  bool cycle();
  // Waits `idleCheckpoint` (the lock held by the caller is released meanwhile); true when no
  // commit came and no cycle was asked for in that time.
  bool quietFor(std::unique_lock<std::mutex>& lock);
  // TRUNCATE; false when a reader or writer outlasted it (try again after the next quiet spell).
  bool copyWhileQuiet();
  struct CycleFigures {  // pages in the WAL and copied into the database (SQLite counts both from the WAL's start)
    int passes = 0, passiveFrames = 0, passiveCopied = 0, frames = 0, copied = 0;
    std::chrono::steady_clock::duration passive{}, restart{};
    bool readerStayed = false;
  };
  // PASSIVE passes until one finds little written since the last (at most kMostPassivePasses);
  // false when one failed.
  bool copyWithoutWaiting(CycleFigures& figures);
  static constexpr int kMostPassivePasses = 4;
  void logCycle(const CycleFigures& figures);  // at debug level
  bool succeeded(int code, const char* mode);

  const WalPolicy policy_;
  const std::unique_ptr<Connection> connection_;
  Logger* const logger_;
  const int64_t pageBytes_;
  const CheckpointCall checkpoint_;
  std::atomic<bool> asked_{false};  // a commit saw the WAL past the threshold; cleared as each cycle ends
  std::atomic<bool> written_{false};  // commits since the last quiet spell's TRUNCATE (idleCheckpoint > 0)
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> cycles_{0}, restarts_{0}, busy_{0}, failures_{0}, idle_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mx::sqlite
