// mx/registrar.hpp — how a plugin tells the host what it provides.
//
// What: during `mx_plugin_register` (and only then) a plugin adds named
// factories, one per component kind it provides. A factory has a name (unique
// per kind across every loaded plugin: a duplicate is refused, naming both
// plugins), a description, a config schema, and a `create` function. After the
// register call returns, the registrar is sealed.
// Thread-safety: used from the loading thread only.
// Ownership: the host copies each Factory; the `create` function's code lives in
// the plugin's library, which the host keeps loaded for as long as the factory
// or anything it created exists.
// Blocking: registration must not block (no network): connect in `create` or
// later.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mx/cache.hpp"
#include "mx/component.hpp"
#include "mx/config_schema.hpp"
#include "mx/embedder.hpp"
#include "mx/graph.hpp"
#include "mx/model.hpp"
#include "mx/status.hpp"
#include "mx/store.hpp"
#include "mx/tool.hpp"
#include "mx/tracer.hpp"

namespace mx {

template <class T>
struct Factory {
  std::string name;
  std::string description;
  ConfigSchema schema;
  // Called once per configured instance; may throw (the host turns it into a
  // Status naming the plugin) but should return a Status.
  std::function<Result<std::unique_ptr<T>>(ComponentContext&)> create;
  // Optional: semantic checks of a schema-valid config with no side effects
  // (no connections). `check-config` runs it; `create` must still check.
  std::function<Status(const Json& config)> validate;
};

class Registrar {
 public:
  virtual ~Registrar() = default;
  virtual std::string_view pluginName() const = 0;

  virtual Status addModelProvider(Factory<ModelProvider> factory) = 0;
  virtual Status addTool(Factory<Tool> factory) = 0;
  virtual Status addCacheBackend(Factory<CacheBackend> factory) = 0;
  virtual Status addStore(Factory<Store> factory) = 0;
  virtual Status addEmbedder(Factory<Embedder> factory) = 0;
  virtual Status addTracer(Factory<Tracer> factory) = 0;
  virtual Status addNodeKind(Factory<Node> factory) = 0;
  virtual Status addRouter(Factory<Router> factory) = 0;
};

}  // namespace mx
