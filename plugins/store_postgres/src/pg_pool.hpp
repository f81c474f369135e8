// A pool of libpqxx connections (a pqxx::connection must not be shared between
// threads, and libpqxx has none). `acquire` hands one connection to one thread
// until the lease ends; a connection that broke (server restart, network) is
// dropped when its lease ends and a new one is opened on the next acquire, so
// a PostgreSQL restart costs the calls in flight, not the process.
// Each connection remembers which named statements it has prepared; with
// prepared statements off (PgBouncer/Supavisor in transaction mode, PGlite's
// shared backend) every call sends its SQL with unnamed parameters instead.
// Thread-safety: acquire from any thread; a Lease belongs to one thread.
// Blocking: acquire waits for a free connection (at most `acquireTimeoutMs`)
// and may connect (network I/O).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <map>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "mx/status.hpp"
#include "pg_sql.hpp"

namespace mx::pg {

struct PooledConnection {
  std::unique_ptr<pqxx::connection> connection;
  std::map<std::string, std::string> statements;   // name -> SQL, known on this connection
};

struct PoolConfig {
  std::string url;                  // a libpq connection string or postgresql:// URI
  size_t size = 4;
  int acquireTimeoutMs = 5000;
  bool preparedStatements = true;   // off behind a transaction-mode pooler
  // Run on every new connection (session settings such as the HNSW search options).
  std::vector<std::string> sessionSetup;
};

class Pool {
 public:
  // Opens one connection at once so a wrong URL or a server that is down is
  // reported at start-up; the others open on demand.
  static Result<std::unique_ptr<Pool>> open(PoolConfig config);

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<PooledConnection> connection)
        : pool_(&pool), connection_(std::move(connection)), preparedStatements_(pool.config_.preparedStatements) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& connection() const { return *connection_->connection; }
    // Declares `sql` as statement `name` on this connection (prepared on the
    // server the first time it runs, when prepared statements are on).
    void prepare(const std::string& name, const std::string& sql);
    // Runs statement `name` (declared with prepare) in `tx`.
    template <class... Args>
    pqxx::result exec(pqxx::transaction_base& tx, const std::string& name, Args&&... args) {
      if (preparedStatements_) return tx.exec_prepared(name, std::forward<Args>(args)...);
      return tx.exec_params(connection_->statements.at(name), std::forward<Args>(args)...);
    }

   private:
    Pool* pool_;
    std::unique_ptr<PooledConnection> connection_;
    bool preparedStatements_;
  };

  // A connection, or Unavailable (server unreachable, or every connection busy
  // for acquireTimeoutMs).
  Result<Lease> acquire();
  // Runs `body(lease)` on a leased connection; a failed lease or any exception
  // becomes a Status that names `what`. `body` returns Status or Result<T>.
  template <class Body>
  auto with(std::string_view what, Body&& body) -> decltype(body(std::declval<Lease&>())) {
    return guarded(what, [&]() -> decltype(body(std::declval<Lease&>())) {
      auto lease = acquire();
      if (!lease) return lease.status();
      return body(*lease);
    });
  }
  const PoolConfig& config() const { return config_; }

 private:
  explicit Pool(PoolConfig config) : config_(std::move(config)) {}
  Result<std::unique_ptr<PooledConnection>> connect() const;
  void release(std::unique_ptr<PooledConnection> connection);

  PoolConfig config_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PooledConnection>> idle_;
  size_t open_ = 0;   // connections that exist (idle or leased)
};

// The URL without its password, for messages and logs.
std::string redactedUrl(const std::string& url);

}  // namespace mx::pg
