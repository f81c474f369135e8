// Hybrid retrieval for knowledge-search: the query is embedded, the store's
// vector search and full-text search each return their best `candidates`,
// and the two rankings are fused by reciprocal rank fusion
// (score = sum over lists of 1 / (k + rank)), which needs no score
// calibration between BM25 and cosine. Results are cached in the knowledge
// layer under "knowledge:<user>:<hash of query and filters>" (24 h by
// default); the resources API clears "knowledge:<user>:" whenever that user's
// documents change. A cache outage is a miss.
// Thread-safety: stateless apart from its collaborators (all thread-safe).
// Blocking: embeds and queries the store.
#pragma once

#include <chrono>
#include <memory>

#include "mx/cache.hpp"
#include "mx/embedder.hpp"
#include "mx/log.hpp"
#include "mx/store.hpp"

namespace mx::knowledge {

struct SearchSettings {
  int candidates = 20;
  double rrfK = 60;
  std::chrono::milliseconds cacheTtl{24 * 3600 * 1000};
};

class HybridSearch {
 public:
  HybridSearch(std::shared_ptr<Store> store, std::shared_ptr<Embedder> embedder, std::shared_ptr<CacheBackend> cache,
               SearchSettings settings, Logger* logger);

  // {"query","results":[{resourceId,title,resourceType,heading,text,score}],"cached":bool}
  Result<Json> search(const std::string& userId, const std::string& query, int topK,
                      const std::vector<std::string>& resourceTypes, const std::vector<std::string>& resourceIds,
                      const CancellationToken& cancel);

 private:
  std::shared_ptr<Store> store_;
  std::shared_ptr<Embedder> embedder_;
  std::shared_ptr<CacheBackend> cache_;
  SearchSettings settings_;
  Logger* logger_;
};

std::vector<SearchHit> reciprocalRankFusion(const std::vector<std::vector<SearchHit>>& rankings, double k, size_t limit);

}  // namespace mx::knowledge
