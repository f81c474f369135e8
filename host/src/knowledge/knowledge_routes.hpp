// The knowledge and canon API:
//   POST   /api/v1/resources            ingest a document (text, markdown, html)
//   GET    /api/v1/resources            list (paged)      GET /api/v1/resources/{id}
//   DELETE /api/v1/resources/{id}       with its chunks and vectors
//   GET    /api/v1/canon/{contentType}  the merged canon (shipped + the user's overrides),
//                                       with an ETag and Cache-Control (304 on If-None-Match)
//   PUT    /api/v1/canon/{contentType}/{category}/{id}   DELETE the same
// Ingestion chunks by structure, embeds in batches and stores; with
// `Accept: text/event-stream` it reports progress as SSE. Every change clears
// the user's knowledge ("knowledge:<user>:") or canon ("canon:<user>:") cache
// layer. Work that may block (embedding, the store, the cache, the canon
// tool) runs on the blocking pool; its answer goes out through
// http::DeferredResponse.
#pragma once

#include <memory>

#include "chat/auth.hpp"
#include "http/http_cache.hpp"
#include "http/http_server.hpp"
#include "knowledge/chunker.hpp"
#include "mx/cache.hpp"
#include "mx/embedder.hpp"
#include "mx/store.hpp"
#include "mx/tool.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host::knowledge {

struct KnowledgeServices {
  std::shared_ptr<Store> store;
  std::shared_ptr<Embedder> embedder;    // may be null: full-text only
  std::shared_ptr<CacheBackend> cache;   // may be null
  std::shared_ptr<Tool> canonTool;       // may be null: no GET canon
  ChunkOptions chunking;
  size_t embedBatch = 64;
  http::HttpCachePolicy httpCache;       // GET canon: ETag + Cache-Control
};

// Ingests one document; `progress(stage, done, total)` is called along the way.
Result<ResourceRecord> ingest(const KnowledgeServices& services, const std::string& userId, const Json& request,
                              const std::function<void(const std::string&, size_t, size_t)>& progress);

// Every store, cache and embedder call runs on `blockingWork`.
void addKnowledgeRoutes(http::HttpServer& server, KnowledgeServices& services, const chat::Authenticator& auth,
                        WorkerPool& blockingWork);

}  // namespace mx::host::knowledge
