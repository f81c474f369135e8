// The deployment config file: [server], [[plugins]] and the component sections
// ([providers.X], [tools.X], [caches.X], [stores.X], [embedders.X], [tracers.X]).
//
// Loading parses the TOML (syntax errors carry file:line:col from toml++),
// validates [server] and the plugin list against the host's own schemas, and
// records each component declaration with its location. Component tables are
// validated later, against the schema of the factory that a plugin registers.
// Not thread-safe to mutate; immutable after load. Reads one file; never blocks
// otherwise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/env_expansion.hpp"
#include "config/source_location.hpp"
#include "mx/config_schema.hpp"
#include "mx/json.hpp"

namespace mx::host {

enum class ComponentKind { ModelProvider, Tool, CacheBackend, Store, Embedder, Tracer, NodeKind, Router };

struct KindInfo {
  ComponentKind kind;
  const char* noun;     // "model provider"
  const char* section;  // "providers"; empty for kinds used only by graph files
};

const std::vector<KindInfo>& componentKinds();
const KindInfo& kindInfo(ComponentKind kind);

struct PluginDeclaration {
  std::string name;   // resolved in the plugin directories
  std::string path;   // or an explicit path, relative to the config file
  SourceLocation where;
};

struct ComponentDeclaration {
  ComponentKind kind;
  std::string instance;   // the key in its section: [caches.<instance>]
  std::string factory;
  bool enabled = true;
  const toml::table* table = nullptr;  // owned by DeploymentConfig::document
  SourceLocation where;

  std::string label() const;  // "[caches.main]"
};

struct DeploymentConfig {
  std::string file;        // as given
  std::string directory;   // of the file, for relative plugin paths
  std::shared_ptr<toml::table> document;
  Json server;             // validated [server], defaults applied
  std::vector<PluginDeclaration> plugins;
  std::vector<ComponentDeclaration> components;
};

const ConfigSchema& serverSchema();

// Appends every problem found to `errors`; the result is usable only if none was.
DeploymentConfig loadDeploymentConfig(const std::string& file, const EnvLookup& env,
                                      std::vector<ConfigError>& errors);

}  // namespace mx::host
