// Loads plugin shared libraries through their front door (see mx/plugin.hpp).
//
// For each [[plugins]] entry: resolve the file (a path relative to the config
// file, or a name looked up in the plugin directories), dlopen it with
// RTLD_NOW | RTLD_LOCAL, read and check the ABI block, then call the register
// function with a registrar that is sealed as soon as it returns. Every
// failure is a Status whose message starts with the config location and names
// the plugin file. Not thread-safe; used once at start-up. Blocks on file I/O.
#pragma once

#include <string>
#include <vector>

#include "config/deployment_config.hpp"
#include "mx/plugin.hpp"
#include "plugins/registry.hpp"

namespace mx::host {

// The front-door check, separated for testing: OK if the plugin may be used.
Status checkAbiBlock(const mx_plugin_abi_block* block, const std::string& file);

class PluginLoader {
 public:
  PluginLoader(Registry& registry, std::vector<std::string> searchDirectories);

  Status load(const PluginDeclaration& declaration, const std::string& configDirectory);

  // Registers a plugin whose code is linked into this binary (tests, embedding).
  Status loadLinked(const mx_plugin_abi_block* block,
                    void (*registerFunction)(Registrar*, Status*));

 private:
  Result<std::string> resolve(const PluginDeclaration& declaration,
                              const std::string& configDirectory) const;
  Status registerPlugin(const std::shared_ptr<LoadedPlugin>& plugin,
                        void (*registerFunction)(Registrar*, Status*));

  Registry& registry_;
  std::vector<std::string> searchDirectories_;
};

// The plugin directories: the configured one if set, else $MX_PLUGIN_DIR, else
// ../lib/marketerx/plugins relative to the executable (the build tree
// mirrors the install layout).
std::vector<std::string> pluginSearchDirectories(const std::string& configured);

}  // namespace mx::host
