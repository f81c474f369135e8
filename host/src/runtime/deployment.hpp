// A deployment: its config file, the plugins it loads and its components.
//
// `load` runs every start-up check that needs no backend (config syntax and
// schema, plugin front doors and registration, each component table against
// its factory's schema) and reports every problem as one line, "file:line:col:
// message" or "file: message". Nothing is created until `instantiate`.
// Thread-safety: load/instantiate from one thread; the describe* methods are
// safe concurrently afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/deployment_config.hpp"
#include "graph/graph_definition.hpp"
#include "graph/graph_runtime.hpp"
#include "models/model_catalogue.hpp"
#include "plugins/plugin_loader.hpp"
#include "plugins/registry.hpp"
#include "runtime/component_set.hpp"
#include "runtime/logging.hpp"

namespace mx::host {

// [chat] runs_per_save: its default and its bounds, for the schema, the load check and ChatSettings.
inline constexpr int64_t kDefaultRunsPerSave = 32;
inline constexpr int64_t kMostRunsPerSave = 256;

class Deployment {
 public:
  static std::unique_ptr<Deployment> load(const std::string& configFile, EnvLookup env,
                                          std::vector<std::string>& errors);
  ~Deployment();

  // Creates the components, the graphs' nodes and routers, the workers, the
  // checkpointer and the graph runtime.
  Status instantiate();
  void shutdown();

  const DeploymentConfig& config() const { return config_; }
  const Registry& registry() const { return registry_; }
  ComponentSet& components() { return *components_; }
  std::shared_ptr<LogOutput> logOutput() const { return logOutput_; }
  std::shared_ptr<HostModelCatalogue> models() const { return models_; }
  std::shared_ptr<const GraphDefinition> graph(std::string_view name) const;
  const std::map<std::string, std::shared_ptr<GraphDefinition>, std::less<>>& graphs() const { return graphs_; }
  GraphRuntime& runtime() { return *runtime_; }
  std::shared_ptr<Checkpointer> checkpointer() const { return checkpointer_; }
  // The store that keeps the checkpoints ([checkpoints] backend = "store"); else null.
  std::shared_ptr<Store> checkpointStore() const { return checkpointStore_; }
  // Validated [chat] and [auth] tables; null when the deployment has no chat API.
  const Json& chatSettings() const { return chatSettings_; }
  const Json& authSettings() const { return authSettings_; }
  const Json& knowledgeSettings() const { return knowledgeSettings_; }
  WorkerPool& workers() { return *workers_; }
  // Where work that waits on a round trip runs (the graph workers when
  // [server] blocking_threads = 0).
  WorkerPool& blockingWork() { return blocking_ ? *blocking_ : *workers_; }
  std::shared_ptr<Logger> logger(const std::string& source) const {
    return std::make_shared<SourceLogger>(logOutput_, source);
  }

  // {"plugins":[{name, version, description, path, components:[{kind, factory}]}]}
  Json describePlugins() const;
  // [{instance, kind, factory, plugin, enabled, config (secrets masked)}]
  Json describeComponents() const;

 private:
  Deployment() = default;

  DeploymentConfig config_;
  Registry registry_;
  std::shared_ptr<LogOutput> logOutput_;
  std::unique_ptr<ComponentSet> components_;
  std::shared_ptr<HostModelCatalogue> models_;
  std::map<std::string, std::shared_ptr<GraphDefinition>, std::less<>> graphs_;
  Json checkpointSettings_;
  Json chatSettings_;
  Json authSettings_;
  Json knowledgeSettings_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<WorkerPool> blocking_;  // null when blocking work runs on the workers
  std::shared_ptr<Checkpointer> checkpointer_;
  std::shared_ptr<Store> checkpointStore_;
  std::unique_ptr<GraphRuntime> runtime_;
};

}  // namespace mx::host
