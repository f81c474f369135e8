#include "runtime/deployment.hpp"

namespace mx::host {

namespace {

void maskSecrets(const ConfigSchema& schema, Json& config) {
  for (const auto& field : schema.fields()) {
    if (field.secret && config.contains(field.name)) {
      const Json& value = config[field.name];
      bool empty = value.is_string() && value.get<std::string>().empty();
      config[field.name] = empty ? "" : "***";
    }
  }
}

}  // namespace

std::unique_ptr<Deployment> Deployment::load(const std::string& configFile, EnvLookup env,
                                             std::vector<std::string>& errors) {
  std::unique_ptr<Deployment> deployment(new Deployment());
  std::vector<ConfigError> configErrors;
  deployment->config_ = loadDeploymentConfig(configFile, env, configErrors);
  auto flush = [&] {
    sortByLocation(configErrors);
    for (const auto& e : configErrors) {
      errors.push_back(e.str());
    }
    configErrors.clear();
  };
  if (!configErrors.empty()) {
    flush();
    return nullptr;
  }
  const Json& server = deployment->config_.server;
  auto level = LogOutput::parseLevel(server.value("log_level", "info"));
  if (!level) {
    errors.push_back(configFile + ": [server] " + level.status().message());
    return nullptr;
  }
  deployment->logOutput_ = std::make_shared<LogOutput>(*level, server.value("log_format", "text") == "json");

  PluginLoader loader(deployment->registry_, pluginSearchDirectories(server.value("plugin_dir", "")));
  for (const auto& plugin : deployment->config_.plugins) {
    Status status = loader.load(plugin, deployment->config_.directory);
    if (!status.isOk()) {
      errors.push_back(status.message());
      return nullptr;  // later errors would only echo this one
    }
  }
  deployment->components_ = std::make_unique<ComponentSet>(deployment->config_, deployment->registry_,
                                                           deployment->logOutput_, env);
  deployment->components_->validate(configErrors);
  deployment->models_ = HostModelCatalogue::load(deployment->config_, env, configErrors);
  if (!configErrors.empty()) {
    flush();
    return nullptr;
  }
  ComponentSet* components = deployment->components_.get();
  deployment->models_->setProviderLookup(
      [components](std::string_view name) { return components->get<ModelProvider>(name); });
  deployment->models_->setLogger(deployment->logger("models"));
  components->setModelCatalogue(deployment->models_);
  return deployment;
}

Deployment::~Deployment() {
  // Components die before the registry that holds their plugins' factories.
  components_.reset();
}

Json Deployment::describePlugins() const {
  Json plugins = Json::array();
  for (const auto& plugin : registry_.plugins()) {
    Json factories = Json::array();
    for (const auto& [kind, name] : plugin->factories) {
      factories.push_back({{"kind", kindInfo(kind).noun}, {"factory", name}});
    }
    plugins.push_back({{"name", plugin->name},
                       {"version", plugin->version},
                       {"description", plugin->description},
                       {"path", plugin->path},
                       {"components", std::move(factories)}});
  }
  return {{"plugins", std::move(plugins)}};
}

Json Deployment::describeComponents() const {
  Json out = Json::array();
  for (const auto& instance : components_->instances()) {
    const auto& declaration = *instance->declaration;
    Json config = instance->config;
    withKindType(declaration.kind, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (const auto* entry = registry_.find<T>(declaration.factory)) {
        maskSecrets(entry->factory.schema, config);
      }
    });
    out.push_back({{"instance", declaration.instance},
                   {"kind", kindInfo(declaration.kind).noun},
                   {"section", kindInfo(declaration.kind).section},
                   {"factory", declaration.factory},
                   {"plugin", instance->plugin ? instance->plugin->name : ""},
                   {"enabled", declaration.enabled},
                   {"config", std::move(config)}});
  }
  return out;
}

}  // namespace mx::host
