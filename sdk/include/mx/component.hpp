// mx/component.hpp — what every plugin-created object is, and what its factory gets.
//
// What: `Component` is the base of every interface a plugin implements (model
// provider, tool, cache backend, store, embedder, graph node, router, tracer).
// `ComponentContext` is what the host hands a factory: the validated config, the
// instance name, a logger, and lookups of other configured components (created
// on demand; a cycle is reported as an error), and host services (the HTTP
// client).
// Thread-safety: a Component's methods may be called from any thread unless its
// interface says otherwise. ComponentContext is only valid during the factory
// call; the Logger it returns lives as long as the component.
// Ownership: the host owns every component through a shared_ptr that also keeps
// the plugin's shared library loaded (the library outlives the object).
// Blocking: `health()` may block briefly (a PING); the host calls it from a
// background thread, never from an HTTP reactor.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mx/json.hpp"
#include "mx/log.hpp"
#include "mx/status.hpp"

namespace mx {

class ModelProvider;
class Tool;
class CacheBackend;
class Store;
class Embedder;
class Tracer;
class HttpClient;
class ModelCatalogue;

class Component {
 public:
  virtual ~Component() = default;
  // Whether the backend behind this component is reachable and usable now.
  // Feeds /readyz. Default: always healthy (pure in-process components).
  virtual Status health() { return Status::ok(); }
  // Called once at graceful shutdown, before destruction, from the main thread.
  // Stop background work here; do not block for long.
  virtual void shutdown() {}
};

class ComponentContext {
 public:
  virtual ~ComponentContext() = default;

  virtual std::string_view instanceName() const = 0;
  // The component's validated config: defaults applied, ${VAR} expanded.
  virtual const Json& config() const = 0;
  virtual Logger& logger() = 0;
  // A writable directory for this deployment's data (from [server] data_dir).
  virtual std::string dataDir() const = 0;
  // The directory of the file that declared this component (the config file,
  // or the graph file for a graph's nodes): relative paths in the config are
  // relative to it.
  virtual std::string configDirectory() const = 0;
  // The host's shared asynchronous HTTP client (see mx/http.hpp); lives as long
  // as any component.
  virtual std::shared_ptr<HttpClient> httpClient() = 0;
  // The deployment's model catalogue ([models.*]); calls go through it so that
  // fallbacks and prices apply.
  virtual std::shared_ptr<ModelCatalogue> models() = 0;

  // Other components of this deployment, by their configured instance name.
  virtual Result<std::shared_ptr<ModelProvider>> modelProvider(std::string_view name) = 0;
  virtual Result<std::shared_ptr<Tool>> tool(std::string_view name) = 0;
  virtual Result<std::shared_ptr<CacheBackend>> cacheBackend(std::string_view name) = 0;
  virtual Result<std::shared_ptr<Store>> store(std::string_view name) = 0;
  virtual Result<std::shared_ptr<Embedder>> embedder(std::string_view name) = 0;
  virtual Result<std::shared_ptr<Tracer>> tracer(std::string_view name) = 0;
};

}  // namespace mx
