// RedisCache — the production cache backend on hiredis 0.14 (synchronous API,
// a small pool of connections, each used by one thread at a time).
//
// Keys get the configured prefix ("mx:"). TTLs are set with PX. erasePrefix
// walks SCAN MATCH <prefix>* and UNLINKs in batches, so it never blocks Redis.
// A Redis that is down answers Unavailable within the command timeout; after a
// failure the pool stops trying for `retry_ms`, so an outage costs callers
// microseconds, not a timeout per request — callers treat Unavailable as a
// miss (a cache outage never fails a request). Connections are re-made on the
// next use after the pause.
// Thread-safety: every method may be called concurrently.
// Blocking: each call blocks up to the command timeout (Redis round trip).
#pragma once

#include <hiredis.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mx/cache.hpp"
#include "mx/log.hpp"

namespace mx::redis {

struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int database = 0;
  std::string keyPrefix = "mx:";
  size_t poolSize = 4;
  std::chrono::milliseconds connectTimeout{500};
  std::chrono::milliseconds commandTimeout{500};
  std::chrono::milliseconds retryPause{1000};
};

class RedisCache final : public CacheBackend {
 public:
  RedisCache(RedisConfig config, Logger* logger);
  ~RedisCache() override;

  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  Status erase(std::string_view key) override;
  Status erasePrefix(std::string_view prefix) override;
  Status health() override;

 private:
  struct Connection;
  class Lease;
  Result<std::unique_ptr<Connection>> connect();
  // Runs `command` with argv on a pooled connection.
  Result<std::shared_ptr<redisReply>> run(const std::vector<std::string>& argv);
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> connection);
  Status down(const std::string& why);

  RedisConfig config_;
  Logger* logger_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t outstanding_ = 0;
  std::atomic<int64_t> pausedUntilMs_{0};
};

}  // namespace mx::redis
