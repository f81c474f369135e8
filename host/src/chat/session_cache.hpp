// The session cache layer of the architecture (Redis, 30 minutes): a
// conversation's last completed graph state, written when a turn completes and
// read when the next turn starts, so a follow-up in an active conversation does
// not read the checkpoint history from the store. A miss, an unreadable entry
// or a cache outage falls back to the store; the cache never fails a turn.
// Thread-safety: every method may be called concurrently.
// Blocking: one cache round trip per call (call off the HTTP reactors where
// possible; see RunManager).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "mx/cache.hpp"
#include "mx/json.hpp"

namespace mx::host::chat {

class SessionCache {
 public:
  // `cache` may be null: the layer is off.
  SessionCache(std::shared_ptr<CacheBackend> cache, std::chrono::seconds ttl) : cache_(std::move(cache)), ttl_(ttl) {}

  std::optional<Json> load(const std::string& userId, const std::string& conversationId);
  void save(const std::string& userId, const std::string& conversationId, const Json& state);
  // The same with the state already as JSON text (the final checkpoint wrote it).
  void saveText(const std::string& userId, const std::string& conversationId, std::string_view stateText);
  void forget(const std::string& userId, const std::string& conversationId);

  bool enabled() const { return cache_ != nullptr; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  static std::string key(const std::string& userId, const std::string& conversationId) {
    return "session:" + userId + ":" + conversationId;
  }

 private:
  std::shared_ptr<CacheBackend> cache_;
  std::chrono::seconds ttl_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace mx::host::chat
