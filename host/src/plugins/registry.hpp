// The registry of loaded plugins and the factories they registered.
//
// Factories are keyed by (kind, name); a second registration of a name is
// refused with a message naming both plugins. Each entry holds the plugin's
// library (shared_ptr), so factory code stays mapped while the entry exists;
// components created from it hold it too (see component_set.hpp).
// Thread-safety: filled during start-up from one thread, then read-only.
// Blocking: never.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "config/deployment_config.hpp"
#include "mx/registrar.hpp"

namespace mx::host {

struct LoadedPlugin {
  std::string name;
  std::string version;
  std::string description;
  std::string path;   // the .so file; empty for plugins linked into the binary (tests)
  std::shared_ptr<boost::dll::shared_library> library;
  std::vector<std::pair<ComponentKind, std::string>> factories;

  std::string displayName() const { return "\"" + name + "\"" + (path.empty() ? "" : " (" + path + ")"); }
};

template <class T>
struct RegisteredFactory {
  // Declared first so it is destroyed last: `factory` holds std::functions
  // whose code lives in the plugin's library.
  std::shared_ptr<const LoadedPlugin> plugin;
  Factory<T> factory;
};

template <class T> struct KindOf;
template <> struct KindOf<ModelProvider> { static constexpr ComponentKind value = ComponentKind::ModelProvider; };
template <> struct KindOf<Tool> { static constexpr ComponentKind value = ComponentKind::Tool; };
template <> struct KindOf<CacheBackend> { static constexpr ComponentKind value = ComponentKind::CacheBackend; };
template <> struct KindOf<Store> { static constexpr ComponentKind value = ComponentKind::Store; };
template <> struct KindOf<Embedder> { static constexpr ComponentKind value = ComponentKind::Embedder; };
template <> struct KindOf<Tracer> { static constexpr ComponentKind value = ComponentKind::Tracer; };
template <> struct KindOf<Node> { static constexpr ComponentKind value = ComponentKind::NodeKind; };
template <> struct KindOf<Router> { static constexpr ComponentKind value = ComponentKind::Router; };

template <class T> struct TypeTag { using type = T; };

// Calls f(TypeTag<Interface>{}) for the interface type of `kind`.
template <class F>
decltype(auto) withKindType(ComponentKind kind, F&& f) {
  switch (kind) {
    case ComponentKind::ModelProvider: return f(TypeTag<ModelProvider>{});
    case ComponentKind::Tool: return f(TypeTag<Tool>{});
    case ComponentKind::CacheBackend: return f(TypeTag<CacheBackend>{});
    case ComponentKind::Store: return f(TypeTag<Store>{});
    case ComponentKind::Embedder: return f(TypeTag<Embedder>{});
    case ComponentKind::Tracer: return f(TypeTag<Tracer>{});
    case ComponentKind::NodeKind: return f(TypeTag<Node>{});
    case ComponentKind::Router: return f(TypeTag<Router>{});
  }
  return f(TypeTag<ModelProvider>{});
}

class Registry {
 public:
  template <class T>
  using FactoryMap = std::map<std::string, RegisteredFactory<T>, std::less<>>;

  template <class T>
  Status add(Factory<T> factory, const std::shared_ptr<LoadedPlugin>& plugin) {
    const char* noun = kindInfo(KindOf<T>::value).noun;
    if (factory.name.empty()) {
      return invalidArgumentError(std::string("plugin ") + plugin->displayName() + " registered a " +
                                  noun + " factory without a name");
    }
    if (!factory.create) {
      return invalidArgumentError(std::string(noun) + " factory \"" + factory.name +
                                  "\" of plugin " + plugin->displayName() + " has no create function");
    }
    auto& map = table<T>();
    if (auto it = map.find(factory.name); it != map.end()) {
      return alreadyExistsError(std::string(noun) + " factory \"" + factory.name +
                                "\" is registered by plugin " + it->second.plugin->displayName() +
                                " and by plugin " + plugin->displayName());
    }
    plugin->factories.emplace_back(KindOf<T>::value, factory.name);
    std::string name = factory.name;
    map.emplace(std::move(name), RegisteredFactory<T>{plugin, std::move(factory)});
    return Status::ok();
  }

  template <class T>
  const RegisteredFactory<T>* find(std::string_view name) const {
    const auto& map = table<T>();
    auto it = map.find(name);
    return it == map.end() ? nullptr : &it->second;
  }

  template <class T>
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : table<T>()) {
      out.push_back(name);
    }
    return out;
  }

  std::vector<std::string> factoryNames(ComponentKind kind) const {
    return withKindType(kind, [&](auto tag) { return names<typename decltype(tag)::type>(); });
  }

  void addPlugin(std::shared_ptr<LoadedPlugin> plugin) { plugins_.push_back(std::move(plugin)); }
  const std::vector<std::shared_ptr<LoadedPlugin>>& plugins() const { return plugins_; }
  const LoadedPlugin* findPlugin(std::string_view name) const;

  // Forgets a plugin and every factory it registered (used when its
  // registration fails half-way).
  void removePlugin(const LoadedPlugin& plugin);

 private:
  template <class T>
  FactoryMap<T>& table() { return std::get<FactoryMap<T>>(tables_); }
  template <class T>
  const FactoryMap<T>& table() const { return std::get<FactoryMap<T>>(tables_); }

  std::tuple<FactoryMap<ModelProvider>, FactoryMap<Tool>, FactoryMap<CacheBackend>, FactoryMap<Store>,
             FactoryMap<Embedder>, FactoryMap<Tracer>, FactoryMap<Node>, FactoryMap<Router>>
      tables_;
  std::vector<std::shared_ptr<LoadedPlugin>> plugins_;
};

}  // namespace mx::host
