#include "config/deployment_config.hpp"

#include <filesystem>

#include "config/schema_validation.hpp"
#include "config/suggest.hpp"
#include "net/curl_http_client.hpp"

namespace mx::host {

const std::vector<KindInfo>& componentKinds() {
  static const std::vector<KindInfo> kinds = {
      {ComponentKind::ModelProvider, "model provider", "providers"},
      {ComponentKind::Tool, "tool", "tools"},
      {ComponentKind::CacheBackend, "cache backend", "caches"},
      {ComponentKind::Store, "store", "stores"},
      {ComponentKind::Embedder, "embedder", "embedders"},
      {ComponentKind::Tracer, "tracer", "tracers"},
      {ComponentKind::NodeKind, "graph node kind", ""},
      {ComponentKind::Router, "graph router", ""},
  };
  return kinds;
}

const KindInfo& kindInfo(ComponentKind kind) {
  for (const auto& info : componentKinds()) {
    if (info.kind == kind) {
      return info;
    }
  }
  return componentKinds().front();
}

std::string ComponentDeclaration::label() const {
  return std::string("[") + kindInfo(kind).section + "." + instance + "]";
}

const ConfigSchema& serverSchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("host", ConfigType::String, "127.0.0.1", "address to listen on")
          .optional("port", ConfigType::Integer, 8080, "TCP port; 0 picks a free one")
          .optional("threads", ConfigType::Integer, 2, "HTTP reactor threads")
          .optional("workers", ConfigType::Integer, 0, "graph worker threads (0: one per core)")
          .optional("blocking_threads", ConfigType::Integer, 16,
                    "threads for blocking work: database and cache round trips, blocking tools, uploads "
                    "(0: on the graph workers)")
          .optional("http_client_threads", ConfigType::Integer, 1,
                    "I/O threads of the HTTP client that streams model answers and calls HTTP tools, 1 to 64, "
                    "each with its own connections (one reads about a core's worth of model streams)")
          .optional("http_client_buffer_bytes", ConfigType::Integer, CurlHttpClient::Options{}.receiveBufferBytes,
                    "libcurl's receive buffer per transfer in flight, 1024 to 524288 bytes: per-stream memory "
                    "against the reads a fast burst takes (model events are a few hundred bytes each)")
          .optional("cpu_scheduling", ConfigType::String, "normal",
                    "the server's threads under Linux SCHED_BATCH (\"batch\": they do not preempt each other "
                    "when one wakes another) or as started (\"normal\")")
          .optional("http_nice", ConfigType::Integer, 0,
                    "nice value of the HTTP threads (listener, reactors), -20 to 19: below the other threads' "
                    "so that requests are taken up at once on busy cores (lowering it needs CAP_SYS_NICE)")
          .optional("http_slice_us", ConfigType::Integer, 0,
                    "the HTTP threads under SCHED_OTHER with a scheduler slice of this many microseconds, 100 to "
                    "100000 (Linux 6.12+: a shorter slice preempts the running thread at wake-up); 0: as the server's")
          .optional("http_realtime_priority", ConfigType::Integer, 0,
                    "the HTTP threads under SCHED_FIFO at this priority, 1 to 99, ahead of every other thread on "
                    "saturated cores (needs CAP_SYS_NICE); 0: as http_nice and http_slice_us make them")
          .optional("data_dir", ConfigType::String, "data", "writable data directory")
          .optional("plugin_dir", ConfigType::String, "",
                    "where [[plugins]] names are resolved (default: next to the executable)")
          .optional("max_request_bytes", ConfigType::Integer, 1048576, "largest request accepted")
          .optional("http_cache_seconds", ConfigType::Integer, 300, "max-age of cacheable GETs (canon, models)")
          .optional("stream_timeout_seconds", ConfigType::Integer, 3600,
                    "longest a request or response stream may stay open")
          .optional("keepalive_timeout_seconds", ConfigType::Integer, 75,
                    "how long an idle keep-alive connection is held")
          .optional("shutdown_grace_ms", ConfigType::Integer, 5000,
                    "how long graceful shutdown waits for streams to end")
          .optional("health_interval_ms", ConfigType::Integer, 5000,
                    "how often component health is checked for /readyz")
          .optional("log_level", ConfigType::String, "info", "debug, info, warn or error")
          .optional("log_format", ConfigType::String, "text", "text or json");
  return schema;
}

namespace {

const ConfigSchema& pluginEntrySchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("name", ConfigType::String, nullptr, "plugin name, resolved in plugin_dir")
          .optional("path", ConfigType::String, nullptr, "path to the plugin's .so file")
          .optional("enabled", ConfigType::Boolean, true, "load this plugin");
  return schema;
}

std::vector<std::string> topLevelKeys() {
  std::vector<std::string> keys = {"server", "plugins", "models", "graphs", "checkpoints", "chat", "auth", "knowledge"};
  for (const auto& kind : componentKinds()) {
    if (*kind.section != '\0') {
      keys.emplace_back(kind.section);
    }
  }
  return keys;
}

void loadPlugins(const toml::node& node, DeploymentConfig& config, const EnvLookup& env,
                 std::vector<ConfigError>& errors) {
  const auto* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    errors.push_back({locationOf(node, config.file),
                      "\"plugins\" must be an array of tables: write [[plugins]] entries"});
    return;
  }
  for (const auto& element : *array) {
    const auto& table = *element.as_table();
    TableContext context{config.file, "[[plugins]]", {}};
    Json entry = validateTable(table, pluginEntrySchema(), context, env, errors);
    SourceLocation where = locationOf(table, config.file);
    bool hasName = entry.contains("name");
    bool hasPath = entry.contains("path");
    if (hasName == hasPath) {
      errors.push_back({where, "[[plugins]] entry needs exactly one of \"name\" or \"path\""});
      continue;
    }
    if (!entry.value("enabled", true)) {
      continue;
    }
    config.plugins.push_back(
        {entry.value("name", std::string()), entry.value("path", std::string()), where});
  }
}

// `enabled` may be a boolean or a string from the environment ("${WEB_SEARCH:-false}").
bool readEnabled(const toml::node& node, const std::string& label, const std::string& file,
                 const EnvLookup& env, std::vector<ConfigError>& errors) {
  if (const auto* flag = node.as_boolean()) {
    return flag->get();
  }
  if (node.is_string()) {
    auto text = expandEnvironment(node.as_string()->get(), env);
    if (text && (*text == "true" || *text == "false")) {
      return *text == "true";
    }
  }
  errors.push_back({locationOf(node, file), label + " key \"enabled\" must be a boolean"});
  return false;
}

void loadSection(const KindInfo& kind, const toml::node& node, DeploymentConfig& config,
                 const EnvLookup& env, std::vector<ConfigError>& errors) {
  const auto* section = node.as_table();
  if (section == nullptr) {
    errors.push_back({locationOf(node, config.file),
                      std::string("\"") + kind.section + "\" must be a table of " + kind.noun +
                          " instances: write [" + kind.section + ".<name>]"});
    return;
  }
  for (const auto& [key, value] : *section) {
    ComponentDeclaration declaration{kind.kind, std::string(key.str()), {}, true, nullptr,
                                     locationOf(value, config.file)};
    const auto* table = value.as_table();
    if (table == nullptr) {
      errors.push_back({declaration.where, declaration.label() + " must be a table"});
      continue;
    }
    declaration.table = table;
    const auto* factory = table->get("factory");
    if (factory == nullptr || !factory->is_string()) {
      errors.push_back({declaration.where,
                        declaration.label() + (factory == nullptr
                                                   ? " missing required key \"factory\""
                                                   : " key \"factory\" must be a string")});
      continue;
    }
    declaration.factory = factory->as_string()->get();
    if (const auto* enabled = table->get("enabled")) {
      declaration.enabled = readEnabled(*enabled, declaration.label(), config.file, env, errors);
    }
    config.components.push_back(std::move(declaration));
  }
}

}  // namespace

DeploymentConfig loadDeploymentConfig(const std::string& file, const EnvLookup& env,
                                      std::vector<ConfigError>& errors) {
  DeploymentConfig config;
  config.file = file;
  config.directory = std::filesystem::absolute(file).parent_path().string();
  if (!std::filesystem::exists(file)) {
    errors.push_back({{file, 0, 0}, "config file not found"});
    return config;
  }
  try {
    config.document = std::make_shared<toml::table>(toml::parse_file(file));
  } catch (const toml::parse_error& e) {
    errors.push_back({{file, e.source().begin.line, e.source().begin.column},
                      std::string("TOML syntax error: ") + std::string(e.description())});
    return config;
  }
  const auto& root = *config.document;
  std::vector<std::string> known = topLevelKeys();
  for (const auto& [key, value] : root) {
    std::string name(key.str());
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      errors.push_back({locationOf(value, file),
                        "unknown section \"" + name + "\"" + didYouMean(name, known)});
    }
  }
  if (const auto* server = root.get("server")) {
    if (const auto* table = server->as_table()) {
      config.server = validateTable(*table, serverSchema(), {file, "[server]", {}}, env, errors);
    } else {
      errors.push_back({locationOf(*server, file), "\"server\" must be a table"});
    }
  } else {
    config.server = validateTable(toml::table{}, serverSchema(), {file, "[server]", {}}, env, errors);
  }
  if (const auto* plugins = root.get("plugins")) {
    loadPlugins(*plugins, config, env, errors);
  }
  for (const auto& kind : componentKinds()) {
    if (*kind.section == '\0') {
      continue;
    }
    if (const auto* section = root.get(kind.section)) {
      loadSection(kind, *section, config, env, errors);
    }
  }
  std::stable_sort(config.components.begin(), config.components.end(),
                   [](const ComponentDeclaration& a, const ComponentDeclaration& b) {
                     return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
                   });
  sortByLocation(errors);
  return config;
}

}  // namespace mx::host
