// The canon: per content type (email, ad, landing-page, script), templates,
// frameworks and compliance rules. Shipped defaults are JSON files
// (<directory>/<contentType>.json); a user's overrides live in the store and
// replace the default entry with the same category and id (or add new ones).
// Results go through the canon cache layer ("canon:<user>:<contentType>",
// 7 days by default), which the canon API clears for that user on every change.
// A cache outage is a miss, never a failure. The parse of the text last read
// from the cache is kept per key: while the cache gives the same text (it
// changes only when the canon does), fetch() copies the tree instead of
// parsing the text again.
// Thread-safety: fetch() may be called concurrently (the kept parses are
// behind a mutex; the defaults are read-only after load).
// Blocking: fetch() may hit the store and the cache.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
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
  // `text` as JSON: the kept parse when it is of the same text, else parsed (and kept).
  Json parsedCached(const std::string& cacheKey, const std::string& text) const;

  std::map<std::string, Json> defaults_;
  struct Parsed {
    std::string text;
    Json value;
  };
  static constexpr size_t kMostParsed = 256;
  mutable std::mutex parsedMutex_;
  mutable std::map<std::string, std::shared_ptr<const Parsed>> parsed_;
};

Json mergeOverrides(Json canon, const std::vector<CanonEntry>& overrides);

}  // namespace mx::canon
