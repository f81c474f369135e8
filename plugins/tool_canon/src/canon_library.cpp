#include "canon_library.hpp"
#include "mx/json_parse.hpp"

#include <filesystem>
#include <fstream>

namespace mx::canon {

const std::vector<std::string>& contentTypes() {
  static const std::vector<std::string> types = {"email", "ad", "landing-page", "script"};
  return types;
}

std::string categoryKey(const std::string& category) {
  if (category == "template") return "templates";
  if (category == "framework") return "frameworks";
  if (category == "compliance") return "compliance";
  return "";
}

Result<std::unique_ptr<CanonLibrary>> CanonLibrary::load(const std::string& directory) {
  auto library = std::make_unique<CanonLibrary>();
  for (const auto& type : contentTypes()) {
    std::string path = directory + "/" + type + ".json";
    std::ifstream in(path);
    if (!in) return notFoundError("canon file " + path + " cannot be read");
    Json canon = Json::parse(in, nullptr, false);
    if (!canon.is_object()) return invalidArgumentError("canon file " + path + " is not a JSON object");
    for (const char* key : {"templates", "frameworks", "compliance"}) {
      if (!canon.contains(key)) canon[key] = Json::array();
      if (!canon[key].is_array()) return invalidArgumentError("canon file " + path + ": \"" + key + "\" must be an array");
    }
    library->defaults_[type] = std::move(canon);
  }
  return library;
}

Json CanonLibrary::parsedCached(const std::string& cacheKey, const std::string& text) const {
  std::shared_ptr<const Parsed> kept;
  {
    std::lock_guard<std::mutex> lock(parsedMutex_);
    auto found = parsed_.find(cacheKey);
    if (found != parsed_.end()) kept = found->second;
  }
  if (kept && kept->text == text) return kept->value;
  auto parsed = std::make_shared<const Parsed>(Parsed{text, parseJson(text)});
  std::lock_guard<std::mutex> lock(parsedMutex_);
  if (parsed_.size() >= kMostParsed && parsed_.find(cacheKey) == parsed_.end()) parsed_.clear();
  parsed_[cacheKey] = parsed;
  return parsed->value;
}

Json mergeOverrides(Json canon, const std::vector<CanonEntry>& overrides) {
  for (const auto& entry : overrides) {
    std::string key = categoryKey(entry.category);
    if (key.empty()) continue;
    Json item = entry.body;
    item["id"] = entry.id;
    item["source"] = "user";
    Json& list = canon[key];
    bool replaced = false;
    for (auto& existing : list) {
      if (existing.value("id", "") == entry.id) {
        existing = item;
        replaced = true;
      }
    }
    if (!replaced) list.push_back(item);
  }
  return canon;
}

Result<Json> CanonLibrary::fetch(const std::string& userId, const std::string& contentType, const std::string& category,
                                 Store* store, CacheBackend* cache, std::chrono::milliseconds ttl, Logger* logger) const {
  auto base = defaults_.find(contentType);
  if (base == defaults_.end()) return invalidArgumentError("unknown content type \"" + contentType + "\"");
  if (category != "all" && categoryKey(category).empty()) {
    return invalidArgumentError("category must be template, framework, compliance or all");
  }
  std::string cacheKey = "canon:" + userId + ":" + contentType;
  Json merged;
  if (cache != nullptr) {
    auto cached = cache->get(cacheKey);
    if (!cached && logger) logger->warn("canon cache unavailable, reading the store: " + cached.status().toString());
    if (cached && cached->has_value()) merged = parsedCached(cacheKey, **cached);
  }
  if (!merged.is_object()) {
    std::vector<CanonEntry> overrides;
    if (store != nullptr) {
      auto found = store->listCanon(userId, contentType);
      if (!found) return found.status().withContext("loading canon overrides");
      overrides = std::move(*found);
    }
    merged = mergeOverrides(base->second, overrides);
    if (cache != nullptr) {
      Status stored = cache->set(cacheKey, merged.dump(), ttl);
      if (!stored.isOk() && logger) logger->warn("canon cache unavailable: " + stored.toString());
    }
  }
  if (category != "all") {
    std::string keep = categoryKey(category);
    for (const char* key : {"templates", "frameworks", "compliance"}) {
      if (keep != key) merged.erase(key);
    }
  }
  merged["contentType"] = contentType;
  merged["category"] = category;
  return merged;
}

}  // namespace mx::canon
