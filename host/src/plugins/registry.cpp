#include "plugins/registry.hpp"

#include <algorithm>

namespace mx::host {

const LoadedPlugin* Registry::findPlugin(std::string_view name) const {
  for (const auto& plugin : plugins_) {
    if (plugin->name == name) {
      return plugin.get();
    }
  }
  return nullptr;
}

void Registry::removePlugin(const LoadedPlugin& plugin) {
  for (const auto& [kind, name] : plugin.factories) {
    withKindType(kind, [&, &factoryName = name](auto tag) {
      using T = typename decltype(tag)::type;
      auto& map = table<T>();
      auto it = map.find(factoryName);
      if (it != map.end() && it->second.plugin.get() == &plugin) {
        map.erase(it);
      }
    });
  }
  plugins_.erase(std::remove_if(plugins_.begin(), plugins_.end(),
                                [&](const auto& p) { return p.get() == &plugin; }),
                 plugins_.end());
}

}  // namespace mx::host
