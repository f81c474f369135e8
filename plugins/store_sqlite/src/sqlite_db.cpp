#include "sqlite_db.hpp"

#include <cstring>

namespace mx::sqlite {

Status statusFor(sqlite3* db, int code, std::string_view what) {
  std::string message = std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  int primary = code & 0xFF;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR || primary == SQLITE_FULL) {
    return unavailableError(message);
  }
  if (primary == SQLITE_CONSTRAINT) return alreadyExistsError(message);
  return internalError(message);
}

void WriteLockWaits::released() {
  releases_.fetch_add(1);
  // Sequentially consistent with the waiter's increment of waiting_ and its check of releases_:
  // either it sees this release, or this sees it waiting.
  if (waiting_.load() == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  released_.notify_all();
}

uint64_t WriteLockWaits::waitForRelease(uint64_t seen, std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> lock(mutex_);
  waiting_.fetch_add(1);
  released_.wait_until(lock, until, [&] { return releases_.load() != seen; });
  waiting_.fetch_sub(1);
  return releases_.load();
}

int Connection::onBusy(void* user, int triesSoFar) {
  auto& connection = *static_cast<Connection*>(user);
  auto now = std::chrono::steady_clock::now();
  if (triesSoFar == 0) {
    connection.busySince_ = now;
    connection.releasesSeen_ = connection.releasesBeforeStep_;
  }
  auto deadline = connection.busySince_ + connection.busyTimeout_;
  if (now >= deadline) return 0;
  // A writer in another process ends without telling us: try again at least every millisecond.
  auto until = std::min(deadline, now + std::chrono::milliseconds(1));
  connection.releasesSeen_ = connection.waits_->waitForRelease(connection.releasesSeen_, until);
  return 1;
}

Statement::Statement(Connection& connection, std::string_view sql)
    : connection_(connection), db_(connection.handle()), sql_(sql) {
  statement_ = connection_.takeCached(sql_);
  if (statement_ != nullptr) return;
  int code = sqlite3_prepare_v2(db_, sql_.data(), static_cast<int>(sql_.size()), &statement_, nullptr);
  if (code != SQLITE_OK) status_ = statusFor(db_, code, "prepare");
}

Statement::~Statement() {
  if (statement_ == nullptr) return;
  if (!status_.isOk()) {
    sqlite3_finalize(statement_);
    connection_.afterStatement();
    return;
  }
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  connection_.giveBack(std::move(sql_), statement_);
  connection_.afterStatement();
}

Statement& Statement::bind(int index, std::string_view text) {
  if (status_.isOk()) sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  if (status_.isOk()) sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Statement& Statement::bindBlob(int index, const void* data, size_t size) {
  if (status_.isOk()) sqlite3_bind_blob(statement_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindNull(int index) {
  if (status_.isOk()) sqlite3_bind_null(statement_, index);
  return *this;
}

bool Statement::step() {
  if (!status_.isOk()) return false;
  connection_.beforeStep();
  int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code != SQLITE_DONE) status_ = statusFor(db_, code, "step");
  return false;
}

Status Statement::run() {
  while (step()) {
  }
  return status_;
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(statement_, column);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), sqlite3_column_bytes(statement_, column));
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(statement_, column); }
double Statement::real(int column) const { return sqlite3_column_double(statement_, column); }
bool Statement::isNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

std::vector<float> Statement::floats(int column) const {
  const void* data = sqlite3_column_blob(statement_, column);
  int bytes = sqlite3_column_bytes(statement_, column);
  std::vector<float> out(static_cast<size_t>(bytes) / sizeof(float));
  if (data != nullptr && !out.empty()) std::memcpy(out.data(), data, out.size() * sizeof(float));
  return out;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, int busyTimeoutMs,
                                                     std::shared_ptr<WriteLockWaits> waits) {
  sqlite3* db = nullptr;
  int code = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    Status status = statusFor(db, code, "open " + path);
    sqlite3_close(db);
    return status;
  }
  if (waits == nullptr) waits = std::make_shared<WriteLockWaits>();
  auto connection = std::unique_ptr<Connection>(new Connection(db, std::chrono::milliseconds(busyTimeoutMs), std::move(waits)));
  sqlite3_busy_handler(db, &Connection::onBusy, connection.get());
  // mmap: reads of the index come from the shared page cache, not a pread per page.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA mmap_size=1073741824"}) {
    MX_RETURN_IF_ERROR(connection->execScript(pragma));
  }
  return connection;
}

int Connection::checkpoint(int mode, int* walFrames, int* checkpointedFrames) {
  beforeStep();
  int code = sqlite3_wal_checkpoint_v2(db_, nullptr, mode, walFrames, checkpointedFrames);
  afterStatement();  // a RESTART held the write lock: the writers waiting for it try again now
  return code;
}

Connection::~Connection() {
  for (auto& [sql, statement] : cache_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

sqlite3_stmt* Connection::takeCached(const std::string& sql) {
  auto found = cache_.find(sql);
  if (found == cache_.end()) return nullptr;
  sqlite3_stmt* statement = found->second;
  cache_.erase(found);
  return statement;
}

void Connection::giveBack(std::string sql, sqlite3_stmt* statement) {
  if (cache_.size() >= kCachedStatements || cache_.count(sql) != 0) {
    sqlite3_finalize(statement);
    return;
  }
  cache_.emplace(std::move(sql), statement);
}

Status Connection::exec(std::string_view sql) { return prepare(sql).run(); }

Status Connection::execScript(const std::string& sql) {
  char* error = nullptr;
  beforeStep();
  int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  afterStatement();
  if (code == SQLITE_OK) return Status::ok();
  std::string message = error != nullptr ? error : sqlite3_errstr(code);
  sqlite3_free(error);
  return statusFor(nullptr, code, message);
}

Result<std::unique_ptr<Pool>> Pool::open(const std::string& path, size_t size, int busyTimeoutMs,
                                         std::shared_ptr<WriteLockWaits> waits,
                                         const std::function<Status(Connection&)>& prepare) {
  auto pool = std::make_unique<Pool>();
  pool->waits_ = waits != nullptr ? std::move(waits) : std::make_shared<WriteLockWaits>();
  for (size_t i = 0; i < std::max<size_t>(1, size); ++i) {
    auto connection = Connection::open(path, busyTimeoutMs, pool->waits_);
    if (!connection) return connection.status();
    if (prepare) MX_RETURN_IF_ERROR(prepare(**connection));
    pool->idle_.push_back(std::move(*connection));
  }
  return pool;
}

Pool::Lease Pool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty(); });
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(connection));
}

void Pool::release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

Transaction::Transaction(Connection& connection) : connection_(connection) {
  begun_ = connection_.exec("BEGIN IMMEDIATE");
  done_ = !begun_.isOk();
}

Transaction::~Transaction() {
  if (!done_) (void)connection_.exec("ROLLBACK");
}

Status Transaction::commit() {
  done_ = true;
  return connection_.exec("COMMIT");
}

}  // namespace mx::sqlite
