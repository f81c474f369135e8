#include "models/model_catalogue.hpp"

#include <atomic>
#include <set>
#include <stdexcept>

#include "config/schema_validation.hpp"
#include "config/suggest.hpp"

namespace mx::host {

const ConfigSchema& modelEntrySchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .required("provider", ConfigType::String, "the [providers.<name>] instance that serves this model")
          .optional("model", ConfigType::String, "", "the provider's model id (default: the catalogue id)")
          .optional("display_name", ConfigType::String, "", "name shown to users")
          .required("tiers", ConfigType::Array, "tiers this model may serve: [1] orchestrator, [2] writer")
          .optional("default_for", ConfigType::Array, Json::array(), "tiers this model is the default of")
          .optional("context_window", ConfigType::Integer, 0, "context window in tokens")
          .optional("max_output_tokens", ConfigType::Integer, 0, "largest output in tokens")
          .optional("input_per_mtok", ConfigType::Float, 0.0, "USD per million uncached input tokens")
          .optional("output_per_mtok", ConfigType::Float, 0.0, "USD per million output tokens")
          .optional("cache_write_5m_per_mtok", ConfigType::Float, 0.0, "USD per million 5-minute cache-write tokens")
          .optional("cache_write_1h_per_mtok", ConfigType::Float, 0.0, "USD per million 1-hour cache-write tokens")
          .optional("cache_read_per_mtok", ConfigType::Float, 0.0, "USD per million cache-read tokens")
          .optional("fallback", ConfigType::String, "", "catalogue id tried when this model fails before streaming");
  return schema;
}

namespace {

std::vector<int> tierList(const Json& value, const SourceLocation& where, const std::string& label,
                          std::vector<ConfigError>& errors) {
  std::vector<int> tiers;
  for (const auto& tier : value) {
    if (!tier.is_number_integer() || (tier.get<int>() != 1 && tier.get<int>() != 2)) {
      errors.push_back({where, label + " tiers must contain only 1 and 2"});
      continue;
    }
    tiers.push_back(tier.get<int>());
  }
  return tiers;
}

const ComponentDeclaration* providerDeclaration(const DeploymentConfig& config, const std::string& name) {
  for (const auto& component : config.components) {
    if (component.kind == ComponentKind::ModelProvider && component.instance == name) return &component;
  }
  return nullptr;
}

bool contains(const std::vector<int>& values, int value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

std::shared_ptr<HostModelCatalogue> HostModelCatalogue::load(const DeploymentConfig& config, const EnvLookup& env,
                                                             std::vector<ConfigError>& errors) {
  auto catalogue = std::make_shared<HostModelCatalogue>();
  const auto* section = config.document ? config.document->get("models") : nullptr;
  if (section == nullptr) return catalogue;
  if (!section->is_table()) {
    errors.push_back({locationOf(*section, config.file), "\"models\" must be a table: write [models.<id>]"});
    return catalogue;
  }
  std::vector<std::string> providerNames;
  for (const auto& component : config.components) {
    if (component.kind == ComponentKind::ModelProvider) providerNames.push_back(component.instance);
  }
  std::vector<SourceLocation> locations;
  for (const auto& [key, node] : *section->as_table()) {
    std::string id(key.str());
    std::string label = "[models." + id + "]";
    SourceLocation where = locationOf(node, config.file);
    if (!node.is_table()) {
      errors.push_back({where, label + " must be a table"});
      continue;
    }
    size_t before = errors.size();
    Json entry = validateTable(*node.as_table(), modelEntrySchema(), {config.file, label, {}}, env, errors);
    if (errors.size() != before) continue;
    const auto* provider = providerDeclaration(config, entry["provider"]);
    if (provider == nullptr) {
      errors.push_back({locationOf(*node.as_table()->get("provider"), config.file),
                        label + " provider \"" + entry["provider"].get<std::string>() + "\" is not a configured [providers.*] instance" +
                            didYouMean(entry["provider"].get<std::string>(), providerNames)});
      continue;
    }
    if (!provider->enabled) continue;  // its provider is switched off in this deployment
    ModelInfo info;
    info.id = id;
    info.provider = entry["provider"];
    info.providerKind = provider->factory;
    info.providerModel = entry["model"].get<std::string>().empty() ? id : entry["model"].get<std::string>();
    info.displayName = entry["display_name"].get<std::string>().empty() ? id : entry["display_name"].get<std::string>();
    info.tiers = tierList(entry["tiers"], where, label, errors);
    info.defaultFor = tierList(entry["default_for"], where, label, errors);
    for (int tier : info.defaultFor) {
      if (!contains(info.tiers, tier)) {
        errors.push_back({where, label + " is the default for tier " + std::to_string(tier) + " but does not serve it"});
      }
    }
    info.contextWindow = entry["context_window"];
    info.maxOutputTokens = entry["max_output_tokens"];
    info.prices = {entry["input_per_mtok"], entry["output_per_mtok"], entry["cache_write_5m_per_mtok"],
                   entry["cache_write_1h_per_mtok"], entry["cache_read_per_mtok"]};
    info.fallback = entry["fallback"];
    catalogue->models_.push_back(std::move(info));
    locations.push_back(where);
  }
  // File order, not the TOML table's key order: the first entry is listed first.
  std::vector<size_t> order(catalogue->models_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return locations[a].line < locations[b].line; });
  std::vector<ModelInfo> sorted;
  std::vector<SourceLocation> sortedLocations;
  for (size_t i : order) {
    sorted.push_back(std::move(catalogue->models_[i]));
    sortedLocations.push_back(locations[i]);
  }
  catalogue->models_ = std::move(sorted);
  locations = std::move(sortedLocations);
  std::vector<std::string> ids;
  for (const auto& model : catalogue->models_) ids.push_back(model.id);
  for (int tier : {1, 2}) {
    std::vector<std::string> defaults;
    for (const auto& model : catalogue->models_) {
      if (contains(model.defaultFor, tier)) defaults.push_back(model.id);
    }
    if (defaults.size() > 1) {
      errors.push_back({{config.file, 0, 0}, "more than one default model for tier " + std::to_string(tier) + ": " +
                                                 defaults[0] + " and " + defaults[1]});
    }
  }
  for (size_t i = 0; i < catalogue->models_.size(); ++i) {
    const auto& model = catalogue->models_[i];
    if (model.fallback.empty()) continue;
    if (catalogue->find(model.fallback) == nullptr) {
      errors.push_back({locations[i], "[models." + model.id + "] fallback \"" + model.fallback + "\" is not in the catalogue" +
                                          didYouMean(model.fallback, ids)});
      continue;
    }
    std::set<std::string> seen = {model.id};
    for (const ModelInfo* next = catalogue->find(model.fallback); next != nullptr;
         next = next->fallback.empty() ? nullptr : catalogue->find(next->fallback)) {
      if (!seen.insert(next->id).second) {
        errors.push_back({locations[i], "[models." + model.id + "] fallbacks form a cycle through \"" + next->id + "\""});
        break;
      }
    }
  }
  return catalogue;
}

const ModelInfo* HostModelCatalogue::find(std::string_view id) const {
  for (const auto& model : models_) {
    if (model.id == id) return &model;
  }
  return nullptr;
}

const ModelInfo* HostModelCatalogue::defaultFor(int tier) const {
  for (const auto& model : models_) {
    if (contains(model.defaultFor, tier)) return &model;
  }
  for (const auto& model : models_) {
    if (contains(model.tiers, tier)) return &model;
  }
  return nullptr;
}

double HostModelCatalogue::costUsd(const ModelInfo& model, const Usage& usage) const {
  const ModelPrices& p = model.prices;
  return (static_cast<double>(usage.inputTokens) * p.input + static_cast<double>(usage.outputTokens) * p.output +
          static_cast<double>(usage.cacheWrite5mTokens) * p.cacheWrite5m +
          static_cast<double>(usage.cacheWrite1hTokens) * p.cacheWrite1h +
          static_cast<double>(usage.cacheReadTokens) * p.cacheRead) /
         1e6;
}

namespace {

// Prices the call and, when it fails before anything was delivered, hands it
// to the fallback model.
class RoutingObserver final : public ChatObserver {
 public:
  // The fallback's request: `original` kept, or made again by `rebuild`.
  RoutingObserver(HostModelCatalogue& catalogue, const ModelInfo& model, std::shared_ptr<const ChatRequest> original,
                  ModelCatalogue::RequestBuilder rebuild, std::shared_ptr<ChatObserver> inner, CancellationToken cancel,
                  double earlierCost, std::shared_ptr<Logger> logger)
      : catalogue_(catalogue), model_(model), original_(std::move(original)), rebuild_(std::move(rebuild)),
        inner_(std::move(inner)), cancel_(std::move(cancel)), earlierCost_(earlierCost), logger_(std::move(logger)) {}

  void onTextDelta(std::string_view t) override {
    delivered();
    inner_->onTextDelta(t);
  }
  void onThinkingDelta(std::string_view t) override {
    delivered();
    inner_->onThinkingDelta(t);
  }
  void onToolCallStart(int i, std::string_view id, std::string_view n) override {
    delivered();
    inner_->onToolCallStart(i, id, n);
  }
  void onToolCallDelta(int i, std::string_view p) override { inner_->onToolCallDelta(i, p); }

  void onComplete(const Status& status, ChatResponse response) override {
    double cost = earlierCost_ + catalogue_.costUsd(model_, response.usage);
    bool tryFallback = !status.isOk() && !delivered_ && !model_.fallback.empty() &&
                       status.code() != Code::Cancelled && !cancel_.isCancelled();
    if (tryFallback) {
      if (const ModelInfo* fallback = catalogue_.find(model_.fallback)) {
        if (logger_) logger_->warn("model " + model_.id + " failed before streaming (" + status.toString() +
                                   "); falling back to " + fallback->id);
        if (rebuild_) {
          catalogue_.chatRebuildingWithCost(*fallback, std::move(rebuild_), std::move(inner_), std::move(cancel_), cost);
        } else {
          catalogue_.chatWithCost(*fallback, ChatRequest(*original_), std::move(inner_), std::move(cancel_), cost);
        }
        return;
      }
    }
    response.costUsd = cost;
    inner_->onComplete(status, std::move(response));
  }

 private:
  // Once the model has said something there is no falling back: the
  // request kept for it (a whole conversation) goes.
  void delivered() {
    if (delivered_) return;
    delivered_ = true;
    original_.reset();
    rebuild_ = nullptr;
  }

  HostModelCatalogue& catalogue_;
  const ModelInfo& model_;
  std::shared_ptr<const ChatRequest> original_;  // for the fallback model; null when there is none or rebuild_ makes it
  ModelCatalogue::RequestBuilder rebuild_;
  std::shared_ptr<ChatObserver> inner_;
  CancellationToken cancel_;
  double earlierCost_;
  std::shared_ptr<Logger> logger_;
  bool delivered_ = false;
};

}  // namespace

const ModelInfo* HostModelCatalogue::findOrReport(std::string_view modelId, ChatObserver& observer) const {
  const ModelInfo* model = find(modelId);
  if (model == nullptr) observer.onComplete(notFoundError("model \"" + std::string(modelId) + "\" is not in the catalogue"), {});
  return model;
}

void HostModelCatalogue::chat(std::string_view modelId, ChatRequest request, std::shared_ptr<ChatObserver> observer,
                              CancellationToken cancel) {
  const ModelInfo* model = findOrReport(modelId, *observer);
  if (model == nullptr) return;
  chatWithCost(*model, std::move(request), std::move(observer), std::move(cancel), 0.0);
}

void HostModelCatalogue::chatRebuilding(std::string_view modelId, RequestBuilder build,
                                        std::shared_ptr<ChatObserver> observer, CancellationToken cancel) {
  const ModelInfo* model = findOrReport(modelId, *observer);
  if (model == nullptr) return;
  chatRebuildingWithCost(*model, std::move(build), std::move(observer), std::move(cancel), 0.0);
}

namespace {

// The caller's builder with the provider's model id set; what it throws names the model.
ChatRequestBuilder builderFor(const ModelInfo& model, ChatRequestBuilder build) {
  return [build = std::move(build), providerModel = model.providerModel, id = model.id] {
    try {
      ChatRequest request = build();
      request.model = providerModel;
      return request;
    } catch (const std::exception& e) {
      throw std::runtime_error("building the request for model " + id + ": " + e.what());
    }
  };
}

}  // namespace

std::shared_ptr<ModelProvider> HostModelCatalogue::providerOrReport(const ModelInfo& model, ChatObserver& observer) const {
  if (!providers_) {
    observer.onComplete(failedPreconditionError("the model catalogue has no providers"), {});
    return nullptr;
  }
  auto provider = providers_(model.provider);
  if (!provider) {
    observer.onComplete(provider.status(), {});
    return nullptr;
  }
  return *provider;
}

void HostModelCatalogue::chatRebuildingWithCost(const ModelInfo& model, RequestBuilder build,
                                                std::shared_ptr<ChatObserver> observer, CancellationToken cancel,
                                                double earlierCost) {
  std::shared_ptr<ModelProvider> provider = providerOrReport(model, *observer);
  if (!provider) return;
  // No request is kept anywhere: the fallback model gets `build`, and a provider that can rebuild its
  // request for a retry gets it too (the host's guard always can: it builds once for a plugin that cannot).
  auto routing = std::make_shared<RoutingObserver>(*this, model, nullptr, model.fallback.empty() ? RequestBuilder() : build,
                                                   std::move(observer), cancel, earlierCost, logger_);
  auto forProvider = builderFor(model, std::move(build));
  if (auto* rebuilding = dynamic_cast<RebuildingChat*>(provider.get())) {
    rebuilding->chatRebuilding(std::move(forProvider), std::move(routing), std::move(cancel));
    return;
  }
  Result<ChatRequest> request = [&]() -> Result<ChatRequest> {
    try {
      return forProvider();
    } catch (const std::exception& e) {
      return internalError(e.what());
    } catch (...) {
      return internalError("building the request for model " + model.id + ": a non-standard exception");
    }
  }();
  if (!request) {
    routing->onComplete(request.status(), {});
    return;
  }
  provider->chat(std::move(*request), std::move(routing), std::move(cancel));
}

void HostModelCatalogue::chatWithCost(const ModelInfo& model, ChatRequest request,
                                      std::shared_ptr<ChatObserver> observer, CancellationToken cancel,
                                      double earlierCost) {
  std::shared_ptr<ModelProvider> provider = providerOrReport(model, *observer);
  if (!provider) return;
  request.model = model.providerModel;
  // The request kept for a fallback model (until the first words): the one the provider reads when it
  // can share it, else a copy; none without a fallback.
  auto* sharing = model.fallback.empty() ? nullptr : dynamic_cast<SharedRequestChat*>(provider.get());
  std::shared_ptr<const ChatRequest> forFallback;
  if (sharing != nullptr) {
    forFallback = std::make_shared<const ChatRequest>(std::move(request));
  } else if (!model.fallback.empty()) {
    forFallback = std::make_shared<const ChatRequest>(request);
  }
  auto routing = std::make_shared<RoutingObserver>(*this, model, forFallback, RequestBuilder(), std::move(observer),
                                                   cancel, earlierCost, logger_);
  if (sharing != nullptr) {
    sharing->chatShared(std::move(forFallback), std::move(routing), std::move(cancel));
  } else {
    provider->chat(std::move(request), std::move(routing), std::move(cancel));
  }
}

Json HostModelCatalogue::describe() const {
  Json models = Json::array();
  for (const auto& m : models_) {
    models.push_back({{"id", m.id},
                      {"displayName", m.displayName},
                      {"provider", m.providerKind},
                      {"offline", m.providerKind == "offline"},
                      {"tiers", m.tiers},
                      {"defaultFor", m.defaultFor},
                      {"contextWindow", m.contextWindow},
                      {"maxOutputTokens", m.maxOutputTokens},
                      {"pricing",
                       {{"currency", "USD"},
                        {"unit", "per million tokens"},
                        {"input", m.prices.input},
                        {"output", m.prices.output},
                        {"cacheWrite5m", m.prices.cacheWrite5m},
                        {"cacheWrite1h", m.prices.cacheWrite1h},
                        {"cacheRead", m.prices.cacheRead}}},
                      {"fallback", m.fallback.empty() ? Json(nullptr) : Json(m.fallback)}});
  }
  Json defaults = Json::object();
  for (int tier : {1, 2}) {
    const ModelInfo* d = defaultFor(tier);
    defaults["tier" + std::to_string(tier)] = d ? Json(d->id) : Json(nullptr);
  }
  return {{"models", std::move(models)}, {"defaults", std::move(defaults)}};
}

}  // namespace mx::host
