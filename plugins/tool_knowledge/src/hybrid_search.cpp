#include "hybrid_search.hpp"
#include "mx/json_parse.hpp"

#include <algorithm>
#include <map>

namespace mx::knowledge {

std::vector<SearchHit> reciprocalRankFusion(const std::vector<std::vector<SearchHit>>& rankings, double k, size_t limit) {
  std::map<std::string, std::pair<double, SearchHit>> fused;
  for (const auto& ranking : rankings) {
    for (size_t rank = 0; rank < ranking.size(); ++rank) {
      auto& entry = fused[ranking[rank].chunkId];
      if (entry.first == 0) entry.second = ranking[rank];
      entry.first += 1.0 / (k + static_cast<double>(rank + 1));
    }
  }
  std::vector<SearchHit> out;
  for (auto& [id, entry] : fused) {
    entry.second.score = entry.first;
    out.push_back(std::move(entry.second));
  }
  std::sort(out.begin(), out.end(), [](const SearchHit& a, const SearchHit& b) {
    return a.score != b.score ? a.score > b.score : a.chunkId < b.chunkId;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

HybridSearch::HybridSearch(std::shared_ptr<Store> store, std::shared_ptr<Embedder> embedder,
                           std::shared_ptr<CacheBackend> cache, SearchSettings settings, Logger* logger)
    : store_(std::move(store)), embedder_(std::move(embedder)), cache_(std::move(cache)), settings_(settings), logger_(logger) {}

Result<Json> HybridSearch::search(const std::string& userId, const std::string& query, int topK,
                                  const std::vector<std::string>& resourceTypes, const std::vector<std::string>& resourceIds,
                                  const CancellationToken& cancel) {
  if (query.empty()) return invalidArgumentError("query must not be empty");
  topK = std::clamp(topK, 1, 50);
  Json key = {{"q", query}, {"k", topK}, {"types", resourceTypes}, {"ids", resourceIds}};
  std::string cacheKey = "knowledge:" + userId + ":" + std::to_string(std::hash<std::string>{}(key.dump()));
  if (cache_) {
    auto cached = cache_->get(cacheKey);
    if (!cached && logger_) logger_->warn("knowledge cache unavailable: " + cached.status().toString());
    if (cached && cached->has_value()) {
      Json hit = parseJson(**cached);
      if (hit.is_object()) {
        hit["cached"] = true;
        return hit;
      }
    }
  }
  SearchQuery request{userId, query, {}, settings_.candidates, resourceTypes, resourceIds};
  std::vector<std::vector<SearchHit>> rankings;
  if (embedder_) {
    auto embedded = embedder_->embed({query}, cancel);
    if (!embedded) return embedded.status().withContext("embedding the query");
    request.embedding = std::move(embedded->front());
    auto vector = store_->searchVector(request);
    if (!vector) return vector.status();
    rankings.push_back(std::move(*vector));
  }
  auto text = store_->searchText(request);
  if (!text) return text.status();
  rankings.push_back(std::move(*text));
  Json results = Json::array();
  for (const auto& hit : reciprocalRankFusion(rankings, settings_.rrfK, static_cast<size_t>(topK))) {
    results.push_back({{"chunkId", hit.chunkId}, {"resourceId", hit.resourceId}, {"title", hit.resourceTitle},
                       {"resourceType", hit.resourceType}, {"heading", hit.heading}, {"text", hit.text}, {"score", hit.score}});
  }
  Json answer = {{"query", query}, {"results", std::move(results)}, {"cached", false}};
  if (cache_) {
    Status stored = cache_->set(cacheKey, answer.dump(), settings_.cacheTtl);
    if (!stored.isOk() && logger_) logger_->warn("knowledge cache unavailable: " + stored.toString());
  }
  return answer;
}

}  // namespace mx::knowledge
