// The canon: per content type (email, ad, landing-page, script), templates,
// frameworks and compliance rules. Shipped defaults are JSON files
// (<directory>/<contentType>.json); a user's overrides live in the store and
// replace the default entry with the same category and id (or add new ones).
// Results go through the canon cache layer ("canon:<user>:<contentType>",
// 7 days by default), which the canon API clears for that user on every change.
// A cache outage is a miss, never a failure.
// Thread-safety: read-only after load; fetch() may be called concurrently.
// Blocking: fetch() may hit the store and the cache.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "mx/cache.hpp"
#include "mx/log.hpp"
#include "mx/store.hpp"

namespace mx::canon {

const std::vector<std::string>& contentTypes();
// "template" -> "templates", ...
std::string categoryKey(const std::string& category);

class CanonLibrary {
 public:
  static Result<std::unique_ptr<CanonLibrary>> load(const std::string& directory);

  // The merged canon of `contentType` for `user`, restricted to `category`
  // ("all" for every category).
  Result<Json> fetch(const std::string& userId, const std::string& contentType, const std::string& category, Store* store,
                     CacheBackend* cache, std::chrono::milliseconds ttl, Logger* logger) const;

  const Json& defaults(const std::string& contentType) const { return defaults_.at(contentType); }

 private:
  std::map<std::string, Json> defaults_;
};

Json mergeOverrides(Json canon, const std::vector<CanonEntry>& overrides);

}  // namespace mx::canon
