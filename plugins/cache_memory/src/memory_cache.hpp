// MemoryCache — the embedded default cache backend: an in-process LRU with a
// per-entry TTL and a bound on memory (keys + values + bookkeeping) and on
// entry count. Expired entries are dropped when touched and when room is
// needed. `erasePrefix` is O(log n + k) thanks to an ordered index.
// Thread-safety: all methods may be called concurrently (one mutex; every
// operation is short and allocation-bounded).
// Blocking: never waits on I/O.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "mx/cache.hpp"

namespace mx::plugins {

class MemoryCache final : public CacheBackend {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  MemoryCache(size_t maxBytes, size_t maxEntries, Clock clock = std::chrono::steady_clock::now);

  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override;
  Status erase(std::string_view key) override;
  Status erasePrefix(std::string_view prefix) override;

  size_t bytesUsed() const;
  size_t entryCount() const;

 private:
  struct Entry;
  using Index = std::map<std::string, Entry, std::less<>>;
  struct Entry {
    std::string value;
    std::chrono::steady_clock::time_point expiresAt;
    std::list<Index::iterator>::iterator lruPosition;
  };

  static size_t footprint(std::string_view key, std::string_view value);
  void removeLocked(Index::iterator it);
  void evictLocked(size_t incomingBytes);

  const size_t maxBytes_;
  const size_t maxEntries_;
  Clock clock_;
  mutable std::mutex mutex_;
  Index index_;
  std::list<Index::iterator> lru_;  // front = most recently used
  size_t bytes_ = 0;
};

}  // namespace mx::plugins
