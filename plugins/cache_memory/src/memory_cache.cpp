#include "memory_cache.hpp"

namespace mx::plugins {

namespace {
// Approximate per-entry overhead of the map node, the list node and the strings.
constexpr size_t kEntryOverhead = 160;
}  // namespace

MemoryCache::MemoryCache(size_t maxBytes, size_t maxEntries, Clock clock)
    : maxBytes_(maxBytes), maxEntries_(maxEntries), clock_(std::move(clock)) {}

size_t MemoryCache::footprint(std::string_view key, std::string_view value) {
  return key.size() + value.size() + kEntryOverhead;
}

void MemoryCache::removeLocked(Index::iterator it) {
  bytes_ -= footprint(it->first, it->second.value);
  lru_.erase(it->second.lruPosition);
  index_.erase(it);
}

void MemoryCache::evictLocked(size_t incomingBytes) {
  // Sweep a couple of entries at the cold end each time, so expired entries
  // that nobody reads again do not sit there until memory runs out.
  auto now = clock_();
  for (int swept = 0; swept < 2 && !lru_.empty() && lru_.back()->second.expiresAt <= now; ++swept) {
    removeLocked(lru_.back());
  }
  while (!lru_.empty() && (bytes_ + incomingBytes > maxBytes_ || index_.size() >= maxEntries_)) {
    removeLocked(lru_.back());
  }
}

Result<std::optional<std::string>> MemoryCache::get(std::string_view key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    return std::optional<std::string>();
  }
  if (it->second.expiresAt <= clock_()) {
    removeLocked(it);
    return std::optional<std::string>();
  }
  lru_.splice(lru_.begin(), lru_, it->second.lruPosition);
  return std::optional<std::string>(it->second.value);
}

Status MemoryCache::set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) {
    return invalidArgumentError("cache TTL must be positive");
  }
  size_t size = footprint(key, value);
  if (size > maxBytes_) {
    return resourceExhaustedError("value of " + std::to_string(value.size()) +
                                  " bytes exceeds the cache's max_bytes");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto existing = index_.find(key); existing != index_.end()) {
    removeLocked(existing);
  }
  evictLocked(size);
  auto [it, inserted] = index_.emplace(std::string(key), Entry{std::string(value), clock_() + ttl, {}});
  lru_.push_front(it);
  it->second.lruPosition = lru_.begin();
  bytes_ += size;
  return Status::ok();
}

Status MemoryCache::erase(std::string_view key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) {
    removeLocked(it);
  }
  return Status::ok();
}

Status MemoryCache::erasePrefix(std::string_view prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.lower_bound(prefix);
  while (it != index_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix) {
    removeLocked(it++);
  }
  return Status::ok();
}

size_t MemoryCache::bytesUsed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

size_t MemoryCache::entryCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index_.size();
}

}  // namespace mx::plugins
