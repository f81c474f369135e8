// Front door of tool_knowledge: knowledge-search (hybrid) and knowledge-fetch.
#include "hybrid_search.hpp"
#include "mx/plugin.hpp"
#include "mx/tool.hpp"

namespace {

std::vector<std::string> strings(const mx::Json& value) {
  std::vector<std::string> out;
  if (value.is_array()) {
    for (const auto& v : value) {
      if (v.is_string()) out.push_back(v);
    }
  }
  return out;
}

class KnowledgeSearchTool final : public mx::Tool {
 public:
  explicit KnowledgeSearchTool(std::unique_ptr<mx::knowledge::HybridSearch> search) : search_(std::move(search)) {}
  mx::ToolDefinition definition() const override {
    return {"knowledge-search", "Search user's business resources using semantic search",
            mx::Json::parse(R"({"type":"object","properties":{"query":{"type":"string"},"topK":{"type":"number","default":5},
              "resourceTypes":{"type":"array","items":{"type":"string"}}},"required":["query"]})")};
  }
  bool blocking() const override { return true; }
  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext> context, mx::ToolDone done) override {
    std::vector<std::string> ids;
    if (context->state != nullptr && context->state->contains("context")) {
      ids = strings((*context->state)["context"].value("includeResources", mx::Json::array()));
    }
    done(search_->search(context->userId, arguments.value("query", ""), static_cast<int>(arguments.value("topK", 5.0)),
                         strings(arguments.value("resourceTypes", mx::Json::array())), ids, context->cancel));
  }

 private:
  std::unique_ptr<mx::knowledge::HybridSearch> search_;
};

class KnowledgeFetchTool final : public mx::Tool {
 public:
  explicit KnowledgeFetchTool(std::shared_ptr<mx::Store> store) : store_(std::move(store)) {}
  mx::ToolDefinition definition() const override {
    return {"knowledge-fetch", "Retrieve full content of a specific resource by ID",
            mx::Json::parse(R"({"type":"object","properties":{"resourceId":{"type":"string"}},"required":["resourceId"]})")};
  }
  bool blocking() const override { return true; }
  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext> context, mx::ToolDone done) override {
    auto resource = store_->getResource(context->userId, arguments.value("resourceId", ""));
    if (!resource) {
      done(resource.status());
      return;
    }
    done(mx::Json{{"resourceId", resource->id}, {"title", resource->title}, {"resourceType", resource->resourceType},
                  {"format", resource->format}, {"content", resource->content}});
  }

 private:
  std::shared_ptr<mx::Store> store_;
};

template <class T>
mx::Result<std::shared_ptr<T>> lookUp(mx::ComponentContext& context, const char* key,
                                      mx::Result<std::shared_ptr<T>> (mx::ComponentContext::*get)(std::string_view)) {
  std::string name = context.config()[key];
  if (name.empty()) return std::shared_ptr<T>();
  return (context.*get)(name);
}

}  // namespace

MX_PLUGIN("tool_knowledge", "0.1.0", "knowledge-search (vector + full-text, RRF, cached) and knowledge-fetch") {
  mx::Factory<mx::Tool> search;
  search.name = "knowledge-search";
  search.schema = mx::ConfigSchema()
                      .required("store", mx::ConfigType::String, "store instance with the resources")
                      .optional("embedder", mx::ConfigType::String, "", "embedder instance (empty: full-text only)")
                      .optional("cache", mx::ConfigType::String, "", "cache instance for the knowledge layer")
                      .optional("cache_ttl_seconds", mx::ConfigType::Integer, 24 * 3600, "knowledge cache TTL (24 h)")
                      .optional("candidates", mx::ConfigType::Integer, 20, "results taken from each retriever")
                      .optional("rrf_k", mx::ConfigType::Float, 60.0, "reciprocal rank fusion constant");
  search.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    auto store = lookUp<mx::Store>(context, "store", &mx::ComponentContext::store);
    if (!store) return store.status();
    auto embedder = lookUp<mx::Embedder>(context, "embedder", &mx::ComponentContext::embedder);
    if (!embedder) return embedder.status();
    auto cache = lookUp<mx::CacheBackend>(context, "cache", &mx::ComponentContext::cacheBackend);
    if (!cache) return cache.status();
    if (*embedder && (*store)->embeddingDimensions() != (*embedder)->dimensions()) {
      return mx::failedPreconditionError("embedder makes " + std::to_string((*embedder)->dimensions()) +
                                         "-dimension vectors but the store indexes " +
                                         std::to_string((*store)->embeddingDimensions()));
    }
    mx::knowledge::SearchSettings settings;
    settings.candidates = context.config()["candidates"];
    settings.rrfK = context.config()["rrf_k"];
    settings.cacheTtl = std::chrono::seconds(context.config()["cache_ttl_seconds"].get<int64_t>());
    return std::unique_ptr<mx::Tool>(std::make_unique<KnowledgeSearchTool>(
        std::make_unique<mx::knowledge::HybridSearch>(*store, *embedder, *cache, settings, &context.logger())));
  };
  MX_RETURN_IF_ERROR(registrar.addTool(std::move(search)));

  mx::Factory<mx::Tool> fetch;
  fetch.name = "knowledge-fetch";
  fetch.schema = mx::ConfigSchema().required("store", mx::ConfigType::String, "store instance with the resources");
  fetch.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    auto store = context.store(context.config()["store"].get<std::string>());
    if (!store) return store.status();
    return std::unique_ptr<mx::Tool>(std::make_unique<KnowledgeFetchTool>(*store));
  };
  return registrar.addTool(std::move(fetch));
}
