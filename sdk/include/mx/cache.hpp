// mx/cache.hpp — a key/value cache backend (memory, Redis, ...).
//
// What: string keys and values with a per-entry TTL. The host adds layer
// prefixes (session, knowledge, canon, http) and TTLs from config; backends
// store bytes. A backend that cannot reach its server returns Unavailable, and
// callers treat that as a miss (a cache outage never fails a request).
// Thread-safety: every method may be called concurrently from any thread.
// Ownership: values are copied in and out.
// Blocking: may block up to the backend's configured timeout (a Redis round
// trip); never call from an HTTP reactor thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "mx/component.hpp"
#include "mx/status.hpp"

namespace mx {

class CacheBackend : public Component {
 public:
  // nullopt on a miss.
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual Status set(std::string_view key, std::string_view value,
                     std::chrono::milliseconds ttl) = 0;
  virtual Status erase(std::string_view key) = 0;
  // Drops every key that starts with `prefix` (e.g. one user's knowledge results).
  virtual Status erasePrefix(std::string_view prefix) = 0;
};

}  // namespace mx
