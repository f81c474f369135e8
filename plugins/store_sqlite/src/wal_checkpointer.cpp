#include "wal_checkpointer.hpp"

#include <pthread.h>

#include <algorithm>

namespace mx::sqlite {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(const std::string& path, WalPolicy policy,
                                                                std::shared_ptr<WriteLockWaits> waits, Logger* logger,
                                                                CheckpointCall checkpoint) {
  MX_RETURN_IF_ERROR(WalPolicy::checkPages(policy.checkpointPages));
  MX_RETURN_IF_ERROR(WalPolicy::checkIdleMs(policy.idleCheckpoint.count()));
  auto connection = Connection::open(path, policy.restartWaitMs, std::move(waits));
  if (!connection) return connection.status();
  int64_t pageBytes = 4096;
  {
    auto pageSize = (*connection)->prepare("PRAGMA page_size");
    if (pageSize.step()) pageBytes = pageSize.integer(0);
    MX_RETURN_IF_ERROR(pageSize.status());
  }
  std::unique_ptr<WalCheckpointer> checkpointer(new WalCheckpointer(policy, std::move(*connection), logger, pageBytes, checkpoint));
  checkpointer->thread_ = std::thread([raw = checkpointer.get()] {
    (void)pthread_setname_np(pthread_self(), "mx-sqlite-wal");  // for top -H and perf, as the host names its threads
    raw->run();
  });
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(WalPolicy policy, std::unique_ptr<Connection> connection, Logger* logger, int64_t pageBytes,
                                 CheckpointCall checkpoint)
    : policy_(policy), connection_(std::move(connection)), logger_(logger), pageBytes_(pageBytes), checkpoint_(checkpoint) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status WalCheckpointer::watch(Connection& connection) {
  // A WAL that grew while a reader stayed is cut back when it starts again, not kept at its largest.
  MX_RETURN_IF_ERROR(connection.execScript("PRAGMA journal_size_limit = " + std::to_string(2 * policy_.checkpointPages * pageBytes_)));
  sqlite3_wal_hook(connection.handle(), &WalCheckpointer::onCommit, this);
  return Status::ok();
}

WalCheckpointer::Counts WalCheckpointer::counts() const {
  return {cycles_.load(), restarts_.load(), busy_.load(), failures_.load(), idle_.load()};
}

int WalCheckpointer::onCommit(void* self, sqlite3* /*db*/, const char* /*database*/, int walPages) {
  auto& checkpointer = *static_cast<WalCheckpointer*>(self);
  checkpointer.commits_.fetch_add(1, std::memory_order_relaxed);
  bool past = walPages >= checkpointer.policy_.checkpointPages && !checkpointer.asked_.exchange(true);
  // The first commit after a quiet spell's TRUNCATE starts the thread's watch for the next one.
  bool first = checkpointer.policy_.idleCheckpoint.count() > 0 && !checkpointer.written_.load(std::memory_order_relaxed) &&
               !checkpointer.written_.exchange(true);
  if (past || first) {
    std::lock_guard<std::mutex> lock(checkpointer.mutex_);  // the thread is waiting, or will see the flags
    checkpointer.wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  pthread_setname_np(pthread_self(), "mx-sqlite-wal");  // its own line in top -H and perf, apart from the server's
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || asked_.load() || written_.load(); });
    if (stopping_) return;
    if (asked_.load()) {
      lock.unlock();
      bool backOff = cycle();
      asked_.store(false);  // commits during the cycle asked for what it did
      lock.lock();
      if (backOff) wake_.wait_for(lock, policy_.backOff, [this] { return stopping_; });
      continue;
    }
    if (!quietFor(lock)) continue;
    written_.store(false);  // before the copy: a commit during it asks for another quiet spell
    lock.unlock();
    bool copied = copyWhileQuiet();
    lock.lock();
    if (!copied) written_.store(true);
  }
}

bool WalCheckpointer::quietFor(std::unique_lock<std::mutex>& lock) {
  uint64_t seen = commits_.load(std::memory_order_relaxed);
  wake_.wait_for(lock, policy_.idleCheckpoint, [this] { return stopping_ || asked_.load(); });
  return !stopping_ && !asked_.load() && commits_.load(std::memory_order_relaxed) == seen;
}

bool WalCheckpointer::copyWhileQuiet() {
  int frames = 0, copied = 0;
  int code = checkpoint_(*connection_, SQLITE_CHECKPOINT_TRUNCATE, &frames, &copied);
  if (code == SQLITE_BUSY) {
    busy_.fetch_add(1);
    return false;
  }
  if (!succeeded(code, "TRUNCATE")) return true;  // logged; the next commit asks again
  idle_.fetch_add(1);
  if (logger_ != nullptr && logger_->enabled(LogLevel::Debug)) {
    logger_->debug("WAL checkpoint once the commits stopped: copied, the WAL truncated");
  }
  return true;
}

bool WalCheckpointer::cycle() {
  cycles_.fetch_add(1);
  CycleFigures figures;
  auto started = std::chrono::steady_clock::now();
  if (!copyWithoutWaiting(figures)) return true;
  auto restartStarted = std::chrono::steady_clock::now();
  int restart = checkpoint_(*connection_, SQLITE_CHECKPOINT_RESTART, &figures.frames, &figures.copied);
  figures.passive = restartStarted - started;
  figures.restart = std::chrono::steady_clock::now() - restartStarted;
  figures.readerStayed = restart == SQLITE_BUSY;
  if (figures.readerStayed) {
    busy_.fetch_add(1);
  } else if (!succeeded(restart, "RESTART")) {
    return true;
  } else {
    restarts_.fetch_add(1);
  }
  logCycle(figures);
  return figures.readerStayed;
}

bool WalCheckpointer::copyWithoutWaiting(CycleFigures& figures) {
  // Writers go on during a pass; the next copies what they wrote meanwhile, so that the RESTART,
  // which holds the write lock, has little left (one pass left it a quarter to all of a threshold's
  // worth: 7-94 ms of writers waiting at fast C = 500).
  const int fewEnough = static_cast<int>(std::max<int64_t>(1, policy_.checkpointPages / 8));
  int copiedBefore = 0;
  while (figures.passes < kMostPassivePasses) {
    int passive = checkpoint_(*connection_, SQLITE_CHECKPOINT_PASSIVE, &figures.passiveFrames, &figures.passiveCopied);
    if (passive != SQLITE_BUSY && !succeeded(passive, "PASSIVE")) return false;
    ++figures.passes;
    if (figures.passiveFrames - copiedBefore <= fewEnough) break;  // this pass found little new: so will the RESTART
    copiedBefore = figures.passiveCopied;
  }
  return true;
}

void WalCheckpointer::logCycle(const CycleFigures& figures) {
  if (logger_ == nullptr || !logger_->enabled(LogLevel::Debug)) return;
  auto ms = [](std::chrono::steady_clock::duration d) { return std::to_string(std::chrono::duration<double, std::milli>(d).count()); };
  logger_->debug("WAL checkpoint: " + std::to_string(figures.passes) + " PASSIVE passes, " +
                 std::to_string(figures.passiveCopied) + " of " + std::to_string(figures.passiveFrames) + " pages in " +
                 ms(figures.passive) + " ms; RESTART " + std::to_string(figures.copied) + " of " +
                 std::to_string(figures.frames) + " in " + ms(figures.restart) + " ms" +
                 (figures.readerStayed ? "; a reader outlasted it: trying again after the next commit" : "; the WAL starts again"));
}

bool WalCheckpointer::succeeded(int code, const char* mode) {
  if (code == SQLITE_OK) return true;
  failures_.fetch_add(1);
  if (logger_ != nullptr) {
    sqlite3* db = connection_->handle();
    const char* why = (sqlite3_errcode(db) & 0xFF) == (code & 0xFF) ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    logger_->warn(std::string("WAL checkpoint (") + mode + ") of " + sqlite3_db_filename(db, "main") + " failed: " + why +
                  " (SQLite code " + std::to_string(code) + "); trying again after the next commit");
  }
  return false;
}

}  // namespace mx::sqlite
