#include "postgres_server.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <pqxx/pqxx>

#include "redis_server.hpp"

namespace mx::test {

namespace {

std::string postgresBinDir() {
  std::string best;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ignored)) {
    std::string bin = entry.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/postgres") && bin > best) best = bin;
  }
  return best;
}

// PostgreSQL will not run as root: run its programs as the postgres user then.
std::vector<std::string> asPostgresUser(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"});
  return argv;
}

}  // namespace

bool waitForPostgres(const std::string& url, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      pqxx::connection connection(url);
      pqxx::nontransaction tx(connection);
      tx.exec1("SELECT 1");
      return true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return false;
}

PostgresServer::PostgresServer() {
  std::string bin = postgresBinDir();
  if (bin.empty()) {
    error_ = "no PostgreSQL server under /usr/lib/postgresql (scripts/install-deps.sh installs it)";
    return;
  }
  char pattern[] = "/tmp/mx-pg-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  if (geteuid() == 0) {
    if (passwd* user = getpwnam("postgres")) {
      if (chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) error_ = "chown " + dir_ + " failed";
    } else {
      error_ = "running as root and there is no postgres user to run PostgreSQL as";
    }
    if (!error_.empty()) return;
  }
  auto init = runProcess(asPostgresUser({bin + "/initdb", "-D", dir_ + "/data", "-U", "mx", "--auth=trust", "-E", "UTF8",
                                         "--no-sync", "--no-instructions"}),
                         {}, std::chrono::seconds(60));
  if (init.exitCode != 0) {
    error_ = "initdb failed: " + init.err + init.out;
    return;
  }
  port_ = freePort();
  start();
}

void PostgresServer::start() {
  std::string bin = postgresBinDir();
  process_ = std::make_unique<BackgroundProcess>(asPostgresUser(
      {bin + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p", std::to_string(port_), "-h", "127.0.0.1", "-c", "fsync=off",
       "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"}));
  if (!waitForPostgres(url(), 15000)) error_ = "PostgreSQL did not accept connections on port " + std::to_string(port_);
}

void PostgresServer::stop() {
  if (process_) process_->stop(SIGINT);  // fast shutdown: disconnects clients
  process_.reset();
}

PostgresServer::~PostgresServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string PostgresServer::url(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=mx dbname=" + database + " connect_timeout=5";
}

std::string PostgresServer::createDatabase(const std::string& name) {
  pqxx::connection connection(url());
  pqxx::nontransaction tx(connection);
  tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  return url(name);
}

PgliteServer::PgliteServer() {
  std::string dir = MX_PGLITE_DIR;
  if (!std::filesystem::exists(dir + "/node_modules/@electric-sql/pglite-socket")) {
    error_ = "PGlite is not installed: run `npm ci --prefix tests/support/pglite` (make test does)";
    return;
  }
  port_ = freePort();
  process_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{"/usr/bin/env", "node", dir + "/server.mjs", std::to_string(port_)});
  if (!waitForPostgres(url(), 30000)) error_ = "PGlite did not accept connections on port " + std::to_string(port_);
}

std::string PgliteServer::url() const {
  // pglite-socket asks for a password and accepts any; it speaks no TLS.
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres password=pglite dbname=postgres sslmode=disable connect_timeout=5";
}

void PgliteServer::reset() {
  pqxx::connection connection(url());
  pqxx::nontransaction tx(connection);
  tx.exec0("DROP SCHEMA public CASCADE");
  tx.exec0("CREATE SCHEMA public");
}

}  // namespace mx::test
