#include "runtime/component_set.hpp"

#include <algorithm>
#include <filesystem>
#include <type_traits>

#include "config/schema_validation.hpp"
#include "config/suggest.hpp"
#include "runtime/blocking_tool.hpp"
#include "runtime/descriptor_limit.hpp"
#include "runtime/guards.hpp"

namespace mx::host {

class ComponentSet::Context final : public ComponentContext {
 public:
  Context(ComponentSet& set, std::string label, std::string instanceName, const Json& config, std::string directory)
      : set_(set), instanceName_(std::move(instanceName)), config_(config), directory_(std::move(directory)),
        logger_(std::make_shared<SourceLogger>(set.log_, std::move(label))) {}

  std::string_view instanceName() const override { return instanceName_; }
  const Json& config() const override { return config_; }
  Logger& logger() override { return *logger_; }
  std::string dataDir() const override { return set_.config_.server.value("data_dir", "data"); }
  std::string configDirectory() const override { return directory_; }
  std::shared_ptr<HttpClient> httpClient() override { return set_.httpClient(); }
  std::shared_ptr<ModelCatalogue> models() override { return set_.models_; }

  Result<std::shared_ptr<ModelProvider>> modelProvider(std::string_view n) override { return set_.get<ModelProvider>(n); }
  Result<std::shared_ptr<Tool>> tool(std::string_view n) override { return set_.get<Tool>(n); }
  Result<std::shared_ptr<CacheBackend>> cacheBackend(std::string_view n) override { return set_.get<CacheBackend>(n); }
  Result<std::shared_ptr<Store>> store(std::string_view n) override { return set_.get<Store>(n); }
  Result<std::shared_ptr<Embedder>> embedder(std::string_view n) override { return set_.get<Embedder>(n); }
  Result<std::shared_ptr<Tracer>> tracer(std::string_view n) override { return set_.get<Tracer>(n); }

  std::shared_ptr<SourceLogger> sharedLogger() const { return logger_; }

 private:
  ComponentSet& set_;
  std::string instanceName_;
  const Json& config_;
  std::string directory_;
  std::shared_ptr<SourceLogger> logger_;
};

ComponentSet::ComponentSet(const DeploymentConfig& config, const Registry& registry,
                           std::shared_ptr<LogOutput> log, EnvLookup env)
    : config_(config), registry_(registry), log_(std::move(log)), env_(std::move(env)) {
  for (const auto& declaration : config_.components) {
    auto instance = std::make_unique<ComponentInstance>();
    instance->declaration = &declaration;
    instances_.push_back(std::move(instance));
  }
}

ComponentSet::~ComponentSet() { shutdown(); }

ComponentInstance* ComponentSet::find(ComponentKind kind, std::string_view name) {
  for (auto& instance : instances_) {
    if (instance->declaration->kind == kind && instance->declaration->instance == name) {
      return instance.get();
    }
  }
  return nullptr;
}

void ComponentSet::validate(std::vector<ConfigError>& errors) {
  for (auto& instance : instances_) {
    const ComponentDeclaration& declaration = *instance->declaration;
    withKindType(declaration.kind, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const auto* entry = registry_.find<T>(declaration.factory);
      const auto* factoryNode = declaration.table->get("factory");
      if (entry == nullptr) {
        auto known = registry_.names<T>();
        std::string list;
        for (const auto& name : known) {
          list += (list.empty() ? "" : ", ") + name;
        }
        errors.push_back({locationOf(*factoryNode, config_.file),
                          declaration.label() + " unknown " + kindInfo(declaration.kind).noun +
                              " factory \"" + declaration.factory + "\"" +
                              didYouMean(declaration.factory, known) +
                              (list.empty() ? "; no loaded plugin provides one"
                                            : "; loaded plugins provide: " + list)});
        return;
      }
      instance->plugin = entry->plugin;
      size_t before = errors.size();
      TableContext context{config_.file, declaration.label(), {"factory", "enabled"}};
      instance->config = validateTable(*declaration.table, entry->factory.schema, context, env_, errors);
      if (errors.size() != before || !entry->factory.validate) {
        return;
      }
      Status status = guardedCall("factory \"" + declaration.factory + "\"",
                                  [&] { return entry->factory.validate(instance->config); });
      if (!status.isOk()) {
        errors.push_back({declaration.where, declaration.label() + " " + status.message()});
      }
    });
  }
}

Status ComponentSet::instantiate() {
  for (auto& instance : instances_) {
    if (instance->declaration->enabled && !instance->object) {
      MX_RETURN_IF_ERROR(create(*instance));
    }
  }
  return Status::ok();
}

Status ComponentSet::create(ComponentInstance& instance) {
  const auto& declaration = *instance.declaration;
  if (instance.creating) {
    return failedPreconditionError(declaration.where.str() + ": " + declaration.label() +
                                   " depends on itself (a cycle of component references)");
  }
  instance.creating = true;
  Status status = withKindType(declaration.kind, [&](auto tag) {
    return createTyped<typename decltype(tag)::type>(instance);
  });
  instance.creating = false;
  return status;
}

template <class T>
Result<std::shared_ptr<T>> ComponentSet::createDetached(const RegisteredFactory<T>& entry, const std::string& label,
                                                        const std::string& instanceName, const Json& config,
                                                        const SourceLocation& where) {
  std::string directory = std::filesystem::path(where.file).parent_path().string();
  Context context(*this, label, instanceName, config, directory.empty() ? "." : directory);
  std::string who = label + " (factory \"" + entry.factory.name + "\" of plugin \"" + entry.plugin->name + "\")";
  std::unique_ptr<T> created;
  Status status = guardedCall("factory", [&]() -> Status {
    auto result = entry.factory.create(context);
    if (!result) {
      return result.status();
    }
    created = std::move(result).value();
    return created ? Status::ok() : internalError("factory returned no object");
  });
  if (!status.isOk()) {
    return Status(status.code(), where.str() + ": " + who + " failed: " + status.toString());
  }
  // The deleter keeps the plugin (and so its code) loaded until the object is
  // gone, and the logger the component may hold by reference alive.
  std::shared_ptr<const LoadedPlugin> plugin = entry.plugin;
  std::shared_ptr<SourceLogger> logger = context.sharedLogger();
  std::shared_ptr<T> owned(created.release(), [plugin, logger](T* object) { delete object; });
  std::shared_ptr<T> guarded = guard(std::move(owned), label);
  std::lock_guard<std::mutex> lock(detachedMutex_);
  detached_.push_back(guarded);
  return guarded;
}

template Result<std::shared_ptr<Node>> ComponentSet::createDetached(const RegisteredFactory<Node>&, const std::string&,
                                                                     const std::string&, const Json&, const SourceLocation&);
template Result<std::shared_ptr<Router>> ComponentSet::createDetached(const RegisteredFactory<Router>&, const std::string&,
                                                                       const std::string&, const Json&, const SourceLocation&);

template <class T>
Status ComponentSet::createTyped(ComponentInstance& instance) {
  const auto& declaration = *instance.declaration;
  const auto* entry = registry_.find<T>(declaration.factory);
  if (entry == nullptr) {
    return failedPreconditionError(declaration.where.str() + ": " + declaration.label() + " has not been validated");
  }
  auto created = createDetached<T>(*entry, declaration.label(), declaration.instance, instance.config, declaration.where);
  if (!created) {
    return created.status();
  }
  std::shared_ptr<T> object = *created;
  if constexpr (std::is_same_v<T, Tool>) {
    if (blockingWork_ != nullptr) object = runBlockingOn(std::move(object), *blockingWork_);
  }
  instance.object = object;
  instance.typed = object;
  creationOrder_.push_back(&instance);
  return Status::ok();
}

std::shared_ptr<CurlHttpClient> ComponentSet::httpClient() {
  if (!httpClient_) {
    // One connection per chat turn the descriptor limit holds (see descriptor_limit.hpp): the
    // parallel tool calls of some turns wait for a connection rather than fail for a descriptor.
    CurlHttpClient::Options options;
    if (auto limit = descriptorLimit()) {
      options.maxTotalConnections = static_cast<long>(turnsWithin(*limit));
      options.maxConnections = std::min(options.maxConnections, options.maxTotalConnections);
    }
    options.ioThreads = static_cast<size_t>(config_.server.value("http_client_threads", int64_t{1}));  // range checked at load
    options.receiveBufferBytes = static_cast<long>(config_.server.value("http_client_buffer_bytes", int64_t{options.receiveBufferBytes}));
    httpClient_ = std::make_shared<CurlHttpClient>(std::make_shared<SourceLogger>(log_, "http-client"), options);
  }
  return httpClient_;
}

void ComponentSet::shutdown() {
  for (auto it = creationOrder_.rbegin(); it != creationOrder_.rend(); ++it) {
    (*it)->object->shutdown();
  }
  {
    std::lock_guard<std::mutex> lock(detachedMutex_);
    for (const auto& component : detached_) component->shutdown();
  }
  // In-flight requests complete (Cancelled) and their handlers — plugin
  // objects — are destroyed while every plugin is still loaded.
  if (httpClient_) {
    httpClient_->shutdown();
  }
  for (auto it = creationOrder_.rbegin(); it != creationOrder_.rend(); ++it) {
    (*it)->typed.reset();
    (*it)->object.reset();
  }
  creationOrder_.clear();
  std::lock_guard<std::mutex> lock(detachedMutex_);
  detached_.clear();
}

}  // namespace mx::host
