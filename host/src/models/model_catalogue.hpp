// The model catalogue of a deployment: [models.<id>] tables in the config.
//
// Each entry names the provider instance that serves it, the provider's model
// id, its tiers, context window, prices (USD per million tokens: input,
// output, 5-minute and 1-hour cache writes, cache reads), an optional fallback
// and whether it is a tier's default. Loading validates the tables (schema,
// known provider and fallback, no fallback cycle, one default per tier).
// Calls by catalogue id go to the provider (resolved on first use); a call
// that fails before anything reached the observer is retried on the fallback.
// Thread-safety: immutable after load; chat/cost from any thread.
// Blocking: never.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/deployment_config.hpp"
#include "mx/log.hpp"
#include "mx/model.hpp"

namespace mx::host {

using ProviderLookup = std::function<Result<std::shared_ptr<ModelProvider>>(std::string_view instance)>;

class HostModelCatalogue final : public ModelCatalogue {
 public:
  // Reads [models.*]; appends problems to `errors`.
  static std::shared_ptr<HostModelCatalogue> load(const DeploymentConfig& config, const EnvLookup& env,
                                                  std::vector<ConfigError>& errors);

  void setProviderLookup(ProviderLookup lookup) { providers_ = std::move(lookup); }
  void setLogger(std::shared_ptr<Logger> logger) { logger_ = std::move(logger); }

  std::vector<ModelInfo> list() const override { return models_; }
  const ModelInfo* find(std::string_view id) const override;
  const ModelInfo* defaultFor(int tier) const override;
  double costUsd(const ModelInfo& model, const Usage& usage) const override;
  void chat(std::string_view modelId, ChatRequest request, std::shared_ptr<ChatObserver> observer,
            CancellationToken cancel) override;
  void chatRebuilding(std::string_view modelId, RequestBuilder build, std::shared_ptr<ChatObserver> observer,
                      CancellationToken cancel) override;

  Json describe() const;  // for GET /api/v1/models

  // chat() and chatRebuilding() on a resolved entry, adding the cost of earlier (failed) attempts.
  void chatWithCost(const ModelInfo& model, ChatRequest request, std::shared_ptr<ChatObserver> observer,
                    CancellationToken cancel, double earlierCost);
  void chatRebuildingWithCost(const ModelInfo& model, RequestBuilder build, std::shared_ptr<ChatObserver> observer,
                              CancellationToken cancel, double earlierCost);

 private:
  // The model by catalogue id, or null after telling `observer` it is not there.
  const ModelInfo* findOrReport(std::string_view modelId, ChatObserver& observer) const;
  // The model's provider, or null after telling `observer` why there is none.
  std::shared_ptr<ModelProvider> providerOrReport(const ModelInfo& model, ChatObserver& observer) const;

  std::vector<ModelInfo> models_;
  ProviderLookup providers_;
  std::shared_ptr<Logger> logger_;
};

const ConfigSchema& modelEntrySchema();

}  // namespace mx::host
