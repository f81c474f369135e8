// The configured components of a deployment: validation, creation, lookup.
//
// `validate()` checks every declaration against the registry: the factory
// exists (else "unknown factory" with a suggestion), the table matches the
// factory's schema, and the factory's own `validate` (if any) accepts it.
// `instantiate()` creates every enabled component, resolving references between
// them on demand (a cycle is an error). Each object is wrapped in its boundary
// guard and held by a shared_ptr whose deleter keeps the plugin's library
// loaded until the object is gone.
// Thread-safety: validate/instantiate/shutdown from one thread at start-up and
// shutdown; lookups (`get`, `instances`) are safe concurrently afterwards.
// Blocking: instantiate() runs factories, which may connect to backends.
#pragma once

#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "config/deployment_config.hpp"
#include "net/curl_http_client.hpp"
#include "plugins/registry.hpp"
#include "runtime/logging.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {

struct ComponentInstance {
  const ComponentDeclaration* declaration = nullptr;
  Json config;                               // validated
  std::shared_ptr<const LoadedPlugin> plugin;
  std::shared_ptr<Component> object;         // the guarded component, null until created
  std::shared_ptr<void> typed;               // the same object as its interface type
  bool creating = false;
};

class ComponentSet {
 public:
  ComponentSet(const DeploymentConfig& config, const Registry& registry,
               std::shared_ptr<LogOutput> log, EnvLookup env);
  ~ComponentSet();

  // Appends every problem to `errors`.
  void validate(std::vector<ConfigError>& errors);
  // Stops at the first failure; the message names the component and its location.
  Status instantiate();
  // Calls shutdown() on every created component, in reverse creation order, then
  // releases them.
  void shutdown();

  template <class T>
  Result<std::shared_ptr<T>> get(std::string_view instance);

  // Creates an object that is not a configured component (a graph's node or
  // router) with the same guards and lifetime rules; released at shutdown().
  template <class T>
  Result<std::shared_ptr<T>> createDetached(const RegisteredFactory<T>& entry, const std::string& label,
                                            const std::string& instanceName, const Json& config,
                                            const SourceLocation& where);

  const std::vector<std::unique_ptr<ComponentInstance>>& instances() const { return instances_; }

  // The shared HTTP client, created on first use ([server] http_client_threads I/O threads).
  std::shared_ptr<CurlHttpClient> httpClient();
  void setModelCatalogue(std::shared_ptr<ModelCatalogue> catalogue) { models_ = std::move(catalogue); }
  // Where tools that block run (runBlockingOn); before instantiate(). Unset:
  // they run on whatever thread invokes them.
  void setBlockingWork(WorkerPool* pool) { blockingWork_ = pool; }

 private:
  class Context;
  ComponentInstance* find(ComponentKind kind, std::string_view name);
  Status create(ComponentInstance& instance);
  template <class T>
  Status createTyped(ComponentInstance& instance);

  const DeploymentConfig& config_;
  const Registry& registry_;
  std::shared_ptr<LogOutput> log_;
  EnvLookup env_;
  std::vector<std::unique_ptr<ComponentInstance>> instances_;
  std::vector<ComponentInstance*> creationOrder_;
  std::shared_ptr<CurlHttpClient> httpClient_;
  std::shared_ptr<ModelCatalogue> models_;
  WorkerPool* blockingWork_ = nullptr;
  std::mutex detachedMutex_;
  std::vector<std::shared_ptr<Component>> detached_;
};

template <class T>
Result<std::shared_ptr<T>> ComponentSet::get(std::string_view instance) {
  ComponentKind kind = KindOf<T>::value;
  ComponentInstance* found = find(kind, instance);
  if (found == nullptr) {
    std::vector<std::string> names;
    for (const auto& i : instances_) {
      if (i->declaration->kind == kind) {
        names.push_back(i->declaration->instance);
      }
    }
    return notFoundError(std::string("no ") + kindInfo(kind).noun + " named \"" +
                         std::string(instance) + "\" is configured");
  }
  if (!found->declaration->enabled) {
    return failedPreconditionError(found->declaration->label() + " is disabled");
  }
  if (!found->object) {
    MX_RETURN_IF_ERROR(create(*found));
  }
  return std::static_pointer_cast<T>(found->typed);
}

}  // namespace mx::host
