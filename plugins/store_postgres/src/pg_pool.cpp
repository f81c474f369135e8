#include "pg_pool.hpp"

#include <regex>

#include "pg_sql.hpp"

namespace mx::pg {

std::string redactedUrl(const std::string& url) {
  static const std::regex uriPassword(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
  static const std::regex keywordPassword(R"((^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+))");
  std::string out = std::regex_replace(url, uriPassword, "$1:***@");
  return std::regex_replace(out, keywordPassword, "$1password=***");
}

Result<std::unique_ptr<Pool>> Pool::open(PoolConfig config) {
  if (config.size == 0) return invalidArgumentError("pool size must be at least 1");
  std::unique_ptr<Pool> pool(new Pool(std::move(config)));
  auto first = pool->connect();
  if (!first) return first.status();
  pool->idle_.push_back(std::move(*first));
  pool->open_ = 1;
  return pool;
}

Result<std::unique_ptr<PooledConnection>> Pool::connect() const {
  return guarded("connect to " + redactedUrl(config_.url), [&]() -> Result<std::unique_ptr<PooledConnection>> {
    auto pooled = std::make_unique<PooledConnection>();
    pooled->connection = std::make_unique<pqxx::connection>(config_.url);
    for (const auto& statement : config_.sessionSetup) {
      pqxx::nontransaction tx(*pooled->connection);
      tx.exec0(statement);
    }
    return pooled;
  });
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.acquireTimeoutMs);
  while (idle_.empty() && open_ >= config_.size) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= config_.size) {
      return unavailableError("postgres: all " + std::to_string(config_.size) + " connections busy for " +
                              std::to_string(config_.acquireTimeoutMs) + " ms");
    }
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  auto connection = connect();
  if (!connection) {
    std::lock_guard<std::mutex> relock(mutex_);
    --open_;
    available_.notify_one();
    return connection.status();
  }
  return Lease(*this, std::move(*connection));
}

void Pool::release(std::unique_ptr<PooledConnection> connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (connection->connection && connection->connection->is_open()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;  // broken: the next acquire opens a fresh one
    }
  }
  available_.notify_one();
}

Pool::Lease::~Lease() {
  if (connection_) pool_->release(std::move(connection_));
}

void Pool::Lease::prepare(const std::string& name, const std::string& sql) {
  if (connection_->statements.count(name) != 0) return;
  if (preparedStatements_) connection_->connection->prepare(name, sql);
  connection_->statements.emplace(name, sql);
}

}  // namespace mx::pg
