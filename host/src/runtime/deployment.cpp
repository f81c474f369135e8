#include "runtime/deployment.hpp"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "config/schema_validation.hpp"
#include "graph/checkpointers.hpp"
#include "net/curl_http_client.hpp"

namespace mx::host {

namespace {

// More I/O threads than this would each read too few streams to be worth their own connections.
constexpr int64_t kMostHttpClientThreads = 64;
// libcurl's own bounds for CURLOPT_BUFFERSIZE (it clamps beyond them without a word).
constexpr int64_t kFewestHttpClientBufferBytes = 1024;
constexpr int64_t kMostHttpClientBufferBytes = 512 * 1024;
constexpr int64_t kDefaultHttpClientBufferBytes = CurlHttpClient::Options{}.receiveBufferBytes;

const ConfigSchema& graphEntrySchema() {
  static const ConfigSchema schema =
      ConfigSchema().required("file", ConfigType::String, "the graph's TOML file, relative to this config file");
  return schema;
}

const ConfigSchema& checkpointSchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("backend", ConfigType::String, "memory", "memory, file (<data_dir>/checkpoints) or store")
          .optional("store", ConfigType::String, "main", "with backend = store: the [stores.*] that keeps them")
          .optional("retention", ConfigType::Integer, 20, "checkpoints kept per thread")
          .optional("durability", ConfigType::String, "sync",
                    "when runs save checkpoints: sync (every step, before going on), async (every step, while the "
                    "next runs) or exit (only the final one)");
  return schema;
}

const ConfigSchema& chatSchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("graph", ConfigType::String, "agent", "the [graphs.*] that runs chat turns")
          .optional("store", ConfigType::String, "main", "the [stores.*] for conversations")
          .optional("heartbeat_seconds", ConfigType::Integer, 15, "keep-alive comment after this much silence")
          .optional("replay_seconds", ConfigType::Integer, 600, "a finished run whose events the store did not take keeps them in memory this long (stored runs replay from the store)")
          .optional("max_message_chars", ConfigType::Integer, 32000, "longest user message")
          .optional("max_live_runs", ConfigType::Integer, 0,
                    "turns in progress at once, more are refused with 503 (0: as many as the process's descriptor "
                    "limit holds, three each)")
          .optional("disconnect", ConfigType::String, "continue", "continue or cancel the run when its client leaves")
          .optional("cache", ConfigType::String, "", "the [caches.*] for the session layer (empty: none)")
          .optional("runs_per_save", ConfigType::Integer, kDefaultRunsPerSave,
                    "most finished runs saved in one call of the store while saves queue up (group commit; 1: each "
                    "alone)")
          .optional("session_ttl_seconds", ConfigType::Integer, 1800, "a conversation's state stays cached this long");
  return schema;
}

const ConfigSchema& authSchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("mode", ConfigType::String, "none", "none (one local user) or api_keys")
          .optional("local_user", ConfigType::String, "local", "the user of mode none")
          .optional("keys", ConfigType::Table, Json::object(), "sha256(key) hex = user id")
          .optional("key_sha256", ConfigType::String, "", "one more key's sha256 (from the environment)")
          .optional("key_user", ConfigType::String, "default", "the user of key_sha256");
  return schema;
}

const ConfigSchema& knowledgeSchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("store", ConfigType::String, "main", "the [stores.*] for resources and canon overrides")
          .optional("embedder", ConfigType::String, "", "the [embedders.*] for chunks (empty: full-text only)")
          .optional("cache", ConfigType::String, "", "the [caches.*] whose knowledge/canon layers to clear on change")
          .optional("canon_tool", ConfigType::String, "fetch-canon", "the [tools.*] that serves GET /api/v1/canon")
          .optional("chunk_chars", ConfigType::Integer, 1200, "largest chunk")
          .optional("overlap_chars", ConfigType::Integer, 200, "text repeated from the previous chunk")
          .optional("embed_batch", ConfigType::Integer, 64, "chunks per embedding call");
  return schema;
}

void loadGraphs(const DeploymentConfig& config, const Registry& registry, const EnvLookup& env,
                std::map<std::string, std::shared_ptr<GraphDefinition>, std::less<>>& graphs,
                std::vector<ConfigError>& errors) {
  const auto* section = config.document->get("graphs");
  if (section == nullptr) return;
  if (!section->is_table()) {
    errors.push_back({locationOf(*section, config.file), "\"graphs\" must be a table: write [graphs.<name>]"});
    return;
  }
  for (const auto& [key, node] : *section->as_table()) {
    std::string name(key.str());
    if (!node.is_table()) {
      errors.push_back({locationOf(node, config.file), "[graphs." + name + "] must be a table"});
      continue;
    }
    size_t before = errors.size();
    Json entry = validateTable(*node.as_table(), graphEntrySchema(), {config.file, "[graphs." + name + "]", {}}, env, errors);
    if (errors.size() != before) continue;
    std::filesystem::path file(entry["file"].get<std::string>());
    if (file.is_relative()) file = std::filesystem::path(config.directory) / file;
    graphs[name] = loadGraph(file.lexically_normal().string(), name, registry, env, errors);
  }
}

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
  std::string scheduling = server.value("cpu_scheduling", "normal");
  if (scheduling != "normal" && scheduling != "batch") {
    errors.push_back(configFile + ": [server] cpu_scheduling must be \"normal\" or \"batch\", got \"" + scheduling + "\"");
    return nullptr;
  }
  int64_t httpNice = server.value("http_nice", int64_t{0});
  if (httpNice < -20 || httpNice > 19) {
    errors.push_back(configFile + ": [server] http_nice must be between -20 and 19, got " + std::to_string(httpNice));
    return nullptr;
  }
  int64_t httpSlice = server.value("http_slice_us", int64_t{0});
  if (httpSlice != 0 && (httpSlice < 100 || httpSlice > 100000)) {
    errors.push_back(configFile + ": [server] http_slice_us must be 0 (the kernel's slice) or between 100 and 100000, got " +
                     std::to_string(httpSlice));
    return nullptr;
  }
  int64_t httpRealtime = server.value("http_realtime_priority", int64_t{0});
  if (httpRealtime < 0 || httpRealtime > 99) {
    errors.push_back(configFile + ": [server] http_realtime_priority must be 0 (none) or between 1 and 99, got " +
                     std::to_string(httpRealtime));
    return nullptr;
  }
  int64_t httpClientThreads = server.value("http_client_threads", int64_t{1});
  if (httpClientThreads < 1 || httpClientThreads > kMostHttpClientThreads) {
    errors.push_back(configFile + ": [server] http_client_threads must be between 1 and " + std::to_string(kMostHttpClientThreads) +
                     ", got " + std::to_string(httpClientThreads));
    return nullptr;
  }
  int64_t httpClientBuffer = server.value("http_client_buffer_bytes", kDefaultHttpClientBufferBytes);
  if (httpClientBuffer < kFewestHttpClientBufferBytes || httpClientBuffer > kMostHttpClientBufferBytes) {
    errors.push_back(configFile + ": [server] http_client_buffer_bytes must be between " +
                     std::to_string(kFewestHttpClientBufferBytes) + " and " + std::to_string(kMostHttpClientBufferBytes) +
                     ", got " + std::to_string(httpClientBuffer));
    return nullptr;
  }
  if (server.value("blocking_threads", int64_t{16}) < 0) {
    errors.push_back(configFile + ": [server] blocking_threads must be 0 (blocking work on the graph workers) or more");
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
  loadGraphs(deployment->config_, deployment->registry_, env, deployment->graphs_, configErrors);
  if (const auto* checkpoints = deployment->config_.document->get("checkpoints"); checkpoints && checkpoints->is_table()) {
    deployment->checkpointSettings_ =
        validateTable(*checkpoints->as_table(), checkpointSchema(), {configFile, "[checkpoints]", {}}, env, configErrors);
    std::string backend = deployment->checkpointSettings_.value("backend", "memory");
    if (backend != "memory" && backend != "file" && backend != "store") {
      configErrors.push_back({locationOf(*checkpoints, configFile),
                              "[checkpoints] backend must be \"memory\", \"file\" or \"store\", got \"" + backend + "\""});
    }
    std::string durability = deployment->checkpointSettings_.value("durability", "sync");
    if (!parseDurability(durability)) {
      configErrors.push_back({locationOf(*checkpoints, configFile),
                              "[checkpoints] durability must be \"sync\", \"async\" or \"exit\", got \"" + durability + "\""});
    }
  } else {
    deployment->checkpointSettings_ = validateTable(toml::table{}, checkpointSchema(), {configFile, "[checkpoints]", {}}, env, configErrors);
  }
  if (!configErrors.empty()) {
    flush();
    return nullptr;
  }
  if (const auto* chat = deployment->config_.document->get("chat"); chat && chat->is_table()) {
    deployment->chatSettings_ = validateTable(*chat->as_table(), chatSchema(), {configFile, "[chat]", {}}, env, configErrors);
    const Json& c = deployment->chatSettings_;
    if (c.is_object() && !deployment->graphs_.count(c.value("graph", ""))) {
      configErrors.push_back({locationOf(*chat, configFile), "[chat] graph \"" + c.value("graph", "") + "\" is not a [graphs.*] entry"});
    }
    if (c.is_object() && c.value("disconnect", "continue") != "continue" && c.value("disconnect", "") != "cancel") {
      configErrors.push_back({locationOf(*chat, configFile), "[chat] disconnect must be \"continue\" or \"cancel\""});
    }
    int64_t runsPerSave = c.is_object() ? c.value("runs_per_save", kDefaultRunsPerSave) : kDefaultRunsPerSave;
    if (runsPerSave < 1 || runsPerSave > kMostRunsPerSave) {
      configErrors.push_back({locationOf(*chat, configFile), "[chat] runs_per_save must be between 1 (each run saved alone) and " +
                                                                 std::to_string(kMostRunsPerSave) + ", got " +
                                                                 std::to_string(runsPerSave)});
    }
  }
  if (const auto* knowledge = deployment->config_.document->get("knowledge"); knowledge && knowledge->is_table()) {
    deployment->knowledgeSettings_ =
        validateTable(*knowledge->as_table(), knowledgeSchema(), {configFile, "[knowledge]", {}}, env, configErrors);
  }
  if (const auto* auth = deployment->config_.document->get("auth"); auth && auth->is_table()) {
    deployment->authSettings_ = validateTable(*auth->as_table(), authSchema(), {configFile, "[auth]", {}}, env, configErrors);
    std::string mode = deployment->authSettings_.value("mode", "none");
    if (mode != "none" && mode != "api_keys") {
      configErrors.push_back({locationOf(*auth, configFile), "[auth] mode must be \"none\" or \"api_keys\""});
    }
  } else {
    deployment->authSettings_ = validateTable(toml::table{}, authSchema(), {configFile, "[auth]", {}}, env, configErrors);
  }
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
  shutdown();
  // Components die before the registry that holds their plugins' factories.
  components_.reset();
}

Status Deployment::instantiate() {
  // First: every thread the deployment starts from here on (pools, the HTTP client's loop, the
  // reactors, the housekeeper) inherits the calling thread's policy.
  if (config_.server.value("cpu_scheduling", "normal") == "batch") {
    sched_param none{};
    if (sched_setscheduler(0, SCHED_BATCH, &none) != 0) {
      return failedPreconditionError(config_.file + ": [server] cpu_scheduling = \"batch\": sched_setscheduler: " +
                                     std::strerror(errno));
    }
  }
  int64_t blockingThreads = config_.server.value("blocking_threads", int64_t{16});  // not negative: load() checked
  if (blockingThreads > 0) {
    blocking_ = std::make_unique<WorkerPool>(static_cast<size_t>(blockingThreads), /*acceptsHelp=*/false, "mx-blocking");
    components_->setBlockingWork(blocking_.get());
  }
  MX_RETURN_IF_ERROR(components_->instantiate());
  for (auto& [name, graph] : graphs_) {
    for (auto& node : graph->nodes) {
      const auto* entry = registry_.find<Node>(node.kind);
      auto created = components_->createDetached<Node>(*entry, "[" + name + ".nodes." + node.name + "]",
                                                       name + "." + node.name, node.config, node.where);
      if (!created) return created.status();
      node.instance = *created;
    }
    for (auto& edge : graph->edges) {
      if (edge.router.empty()) continue;
      const auto* entry = registry_.find<Router>(edge.router);
      auto created = components_->createDetached<Router>(*entry, "[" + name + ".router " + edge.router + "]", edge.router,
                                                         edge.routerConfig, edge.where);
      if (!created) return created.status();
      edge.routerInstance = *created;
    }
  }
  int64_t workers = config_.server.value("workers", int64_t{0});
  auto durability = parseDurability(checkpointSettings_.value("durability", "sync")).value_or(Durability::Sync);
  std::string checkpointBackend = checkpointSettings_.value("backend", "memory");
  // The HTTP client's loop, a reactor or a blocking-pool thread may run graph steps while every worker
  // sleeps (WorkerPool::HelpWhenIdle), unless a step can wait on a round trip there: blocking tools on
  // the workers (no blocking pool), or each step's checkpoint saved to a file or a database as it ends
  // (durability "sync").
  bool stepsNeverWait = blocking_ != nullptr && (durability != Durability::Sync || checkpointBackend == "memory");
  workers_ = std::make_unique<WorkerPool>(workers > 0 ? static_cast<size_t>(workers)
                                                      : std::max(2u, std::thread::hardware_concurrency()),
                                          /*acceptsHelp=*/stepsNeverWait, "mx-graph");
  size_t retention = static_cast<size_t>(std::max<int64_t>(1, checkpointSettings_.value("retention", int64_t{20})));
  if (checkpointBackend == "store") {
    auto store = components_->get<Store>(checkpointSettings_.value("store", "main"));
    if (!store) return store.status().withContext("[checkpoints] store");
    checkpointer_ = (*store)->checkpointer();
    if (!checkpointer_) return failedPreconditionError("[checkpoints] store \"" + checkpointSettings_.value("store", "main") + "\" keeps no checkpoints");
    checkpointStore_ = *store;
  } else if (checkpointBackend == "file") {
    checkpointer_ = std::make_shared<FileCheckpointer>(config_.server.value("data_dir", "data") + "/checkpoints", retention);
  } else {
    checkpointer_ = std::make_shared<MemoryCheckpointer>(retention);
  }
  runtime_ = std::make_unique<GraphRuntime>(*workers_, checkpointer_, logger("graph"), durability);
  return Status::ok();
}

void Deployment::shutdown() {
  if (components_) components_->shutdown();  // completes in-flight model calls (cancelled)
  if (blocking_) blocking_->stop();  // first: what it finishes may post the runs' next steps
  if (workers_) workers_->stop();
}

std::shared_ptr<const GraphDefinition> Deployment::graph(std::string_view name) const {
  auto it = graphs_.find(name);
  return it == graphs_.end() ? nullptr : it->second;
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
