// Test support: real PostgreSQL servers on loopback, started by a test and
// stopped (and their files removed) when they go out of scope.
//   PostgresServer: Debian's PostgreSQL (15+) in a temporary data directory,
//     initdb'd with trust auth (as the `postgres` system user when the tests
//     run as root, since PostgreSQL refuses to run as root); many connections.
//   PgliteServer: PGlite (PostgreSQL 17 in WASM with the real pgvector
//     extension) behind pglite-socket, via node (tests/support/pglite); ONE
//     client at a time: point a pool of size 1 at it.
// Thread-safety: none (one test thread). Blocking: start() waits until the
// server accepts connections (a few seconds at most) and reports failure as
// an error message instead of hanging.
#pragma once

#include <memory>
#include <string>

#include "process.hpp"

namespace mx::test {

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  // Empty when running; otherwise what went wrong (initdb, start-up).
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // A libpq connection string for `database` (created by createDatabase).
  std::string url(const std::string& database = "postgres") const;
  // CREATE DATABASE; returns its url.
  std::string createDatabase(const std::string& name);
  // Fast shutdown / start again on the same port and data (restart tests).
  void stop();
  void start();

 private:
  std::string dir_;
  int port_ = 0;
  std::string error_;
  std::unique_ptr<BackgroundProcess> process_;
};

class PgliteServer {
 public:
  PgliteServer();
  const std::string& error() const { return error_; }
  std::string url() const;
  // Drops and recreates the public schema (tables, the vector extension).
  void reset();

 private:
  int port_ = 0;
  std::string error_;
  std::unique_ptr<BackgroundProcess> process_;
};

// Waits until `url` accepts a connection and answers SELECT 1.
bool waitForPostgres(const std::string& url, int timeoutMs);

}  // namespace mx::test
