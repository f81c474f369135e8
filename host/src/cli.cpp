#include "cli.hpp"

#include <csignal>
#include <thread>
#include <future>
#include <mutex>
#include <iostream>
#include <map>
#include <optional>

#include "chat/chat_routes.hpp"
#include "http/http_server.hpp"
#include "knowledge/knowledge_routes.hpp"
#include "http/system_routes.hpp"
#include "mx/plugin.hpp"
#include "runtime/deployment.hpp"
#include "runtime/descriptor_limit.hpp"
#include "runtime/health_monitor.hpp"

namespace mx::host {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(marketerx — the MarketerX backend host

Usage:
  marketerx serve --config FILE [--host HOST] [--port PORT]
      Load the plugins and components FILE declares and serve the HTTP API.
      Stops gracefully on SIGTERM or SIGINT.
  marketerx check-config --config FILE
      Load and validate everything FILE declares (plugins, component configs)
      without starting anything; print what would run. Exits 2 on any error.
  marketerx plugins --config FILE [--json]
      List the plugins FILE loads and the components each registers.
  marketerx run-graph --config FILE --graph NAME --thread ID [--run ID]
                      [--input JSON] [--resume]
      Run a graph of the deployment once (or resume a run from its newest
      checkpoint), printing its events as "event: data" lines and, last, a
      JSON line with the outcome. Exits 0 if the run completed or paused.
  marketerx --help | --version

Config values may use ${VAR} and ${VAR:-default} from the environment.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
)";

struct Arguments {
  std::string command;
  std::map<std::string, std::string> options;
  std::vector<std::string> flags;
};

std::optional<Arguments> parse(const std::vector<std::string>& args, std::ostream& err) {
  Arguments parsed;
  static const std::vector<std::string> valued = {"--config", "--host", "--port", "--graph", "--thread", "--run", "--input"};
  static const std::vector<std::string> boolean = {"--json", "--help", "--version", "--resume"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (std::find(valued.begin(), valued.end(), arg) != valued.end()) {
      if (i + 1 >= args.size()) {
        err << "marketerx: " << arg << " needs a value\n";
        return std::nullopt;
      }
      parsed.options[arg] = args[++i];
    } else if (std::find(boolean.begin(), boolean.end(), arg) != boolean.end()) {
      parsed.flags.push_back(arg);
    } else if (arg.rfind("-", 0) == 0 || !parsed.command.empty()) {
      err << "marketerx: unexpected argument \"" << arg << "\" (see marketerx --help)\n";
      return std::nullopt;
    } else {
      parsed.command = arg;
    }
  }
  return parsed;
}

bool hasFlag(const Arguments& a, const std::string& flag) {
  return std::find(a.flags.begin(), a.flags.end(), flag) != a.flags.end();
}

std::unique_ptr<Deployment> loadOrReport(const Arguments& arguments, std::ostream& err) {
  auto config = arguments.options.find("--config");
  if (config == arguments.options.end()) {
    err << "marketerx: " << arguments.command << " needs --config FILE\n";
    return nullptr;
  }
  std::vector<std::string> errors;
  auto deployment = Deployment::load(config->second, processEnvironment(), errors);
  for (const auto& error : errors) {
    err << error << "\n";
  }
  if (!deployment) {
    err << "marketerx: " << config->second << ": " << errors.size()
        << (errors.size() == 1 ? " error" : " errors") << ", nothing started\n";
  }
  return deployment;
}

void printPlugins(const Deployment& deployment, std::ostream& out) {
  const auto plugins = deployment.describePlugins()["plugins"];
  out << "plugins (" << plugins.size() << "):\n";
  for (const auto& plugin : plugins) {
    out << "  " << plugin["name"].get<std::string>() << " " << plugin["version"].get<std::string>()
        << "  " << plugin["path"].get<std::string>() << "\n";
    if (!plugin["description"].get<std::string>().empty()) {
      out << "      " << plugin["description"].get<std::string>() << "\n";
    }
    for (const auto& component : plugin["components"]) {
      out << "      " << component["kind"].get<std::string>() << " \""
          << component["factory"].get<std::string>() << "\"\n";
    }
  }
}

int checkConfig(const Arguments& arguments, std::ostream& out, std::ostream& err) {
  auto deployment = loadOrReport(arguments, err);
  if (!deployment) {
    return kExitUsage;
  }
  const Json& server = deployment->config().server;
  out << "config: " << deployment->config().file << "\n"
      << "server: " << server["host"].get<std::string>() << ":" << server["port"].get<int64_t>()
      << ", " << server["threads"].get<int64_t>() << " reactor threads, data_dir "
      << server["data_dir"].get<std::string>() << "\n";
  printPlugins(*deployment, out);
  Json components = deployment->describeComponents();
  out << "components (" << components.size() << "):\n";
  size_t enabled = 0;
  for (const auto& c : components) {
    enabled += c["enabled"].get<bool>() ? 1 : 0;
    out << "  [" << c["section"].get<std::string>() << "." << c["instance"].get<std::string>() << "] "
        << c["kind"].get<std::string>() << " \"" << c["factory"].get<std::string>() << "\" from "
        << c["plugin"].get<std::string>() << (c["enabled"].get<bool>() ? "" : " (disabled)") << "\n"
        << "      " << c["config"].dump() << "\n";
  }
  Json models = deployment->models()->describe();
  out << "models (" << models["models"].size() << "):\n";
  for (const auto& m : models["models"]) {
    out << "  " << m["id"].get<std::string>() << " (" << m["provider"].get<std::string>() << ") tiers "
        << m["tiers"].dump() << (m["defaultFor"].empty() ? "" : ", default for " + m["defaultFor"].dump())
        << (m["fallback"].is_null() ? "" : ", fallback " + m["fallback"].get<std::string>()) << "\n";
  }
  out << "OK: would start " << enabled << " component(s) on " << server["host"].get<std::string>()
      << ":" << server["port"].get<int64_t>() << "\n";
  return kExitOk;
}

int listPlugins(const Arguments& arguments, std::ostream& out, std::ostream& err) {
  auto deployment = loadOrReport(arguments, err);
  if (!deployment) {
    return kExitUsage;
  }
  if (hasFlag(arguments, "--json")) {
    out << deployment->describePlugins().dump(2) << "\n";
  } else {
    printPlugins(*deployment, out);
  }
  return kExitOk;
}

Result<http::HttpServer::Options> serverOptions(const Json& server, const Arguments& arguments) {
  http::HttpServer::Options options;
  options.host = server.value("host", "127.0.0.1");
  int64_t port = server.value("port", 8080);
  if (auto it = arguments.options.find("--host"); it != arguments.options.end()) {
    options.host = it->second;
  }
  if (auto it = arguments.options.find("--port"); it != arguments.options.end()) {
    try {
      port = std::stoll(it->second);
    } catch (const std::exception&) {
      return invalidArgumentError("--port must be a number, got \"" + it->second + "\"");
    }
  }
  if (port < 0 || port > 65535) {
    return invalidArgumentError("port must be between 0 and 65535, got " + std::to_string(port));
  }
  options.port = static_cast<uint16_t>(port);
  options.threads = static_cast<int>(std::max<int64_t>(1, server.value("threads", 2)));
  options.maxRequestBytes = static_cast<size_t>(server.value("max_request_bytes", 1048576));
  options.streamTimeout = std::chrono::seconds(server.value("stream_timeout_seconds", 3600));
  options.keepaliveTimeout = std::chrono::seconds(server.value("keepalive_timeout_seconds", 75));
  options.nice = static_cast<int>(server.value("http_nice", 0));  // its range checked at load
  options.sliceMicros = static_cast<int>(server.value("http_slice_us", 0));  // its range checked at load
  options.realtimePriority = static_cast<int>(server.value("http_realtime_priority", 0));  // its range checked at load
  return options;
}

Status wireKnowledge(Deployment& deployment, knowledge::KnowledgeServices& services) {
  const Json& k = deployment.knowledgeSettings();
  auto& components = deployment.components();
  auto store = components.get<Store>(k["store"].get<std::string>());
  if (!store) return store.status();
  services.store = *store;
  if (!k["embedder"].get<std::string>().empty()) {
    auto embedder = components.get<Embedder>(k["embedder"].get<std::string>());
    if (!embedder) return embedder.status();
    services.embedder = *embedder;
  }
  if (!k["cache"].get<std::string>().empty()) {
    auto cache = components.get<CacheBackend>(k["cache"].get<std::string>());
    if (!cache) return cache.status();
    services.cache = *cache;
  }
  if (!k["canon_tool"].get<std::string>().empty()) {
    auto tool = components.get<Tool>(k["canon_tool"].get<std::string>());
    if (tool) services.canonTool = *tool;
  }
  services.chunking.maxChars = k["chunk_chars"].get<size_t>();
  services.chunking.overlapChars = k["overlap_chars"].get<size_t>();
  services.embedBatch = std::max<size_t>(1, k["embed_batch"].get<size_t>());
  return Status::ok();
}

int serve(const Arguments& arguments, std::ostream& out, std::ostream& err) {
  // Signals are taken synchronously by this thread; every thread started from
  // here on inherits the mask, so SIGTERM never lands in a reactor.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto deployment = loadOrReport(arguments, err);
  if (!deployment) {
    return kExitUsage;
  }
  auto options = serverOptions(deployment->config().server, arguments);
  if (!options) {
    err << "marketerx: " << options.status().message() << "\n";
    return kExitUsage;
  }
  auto log = deployment->logger("server");
  // Before anything opens a descriptor: one socket (three, for a chat turn) per client.
  std::optional<uint64_t> descriptorLimit = raiseDescriptorLimit();
  Status created = deployment->instantiate();
  if (!created.isOk()) {
    err << created.message() << "\n";
    deployment->shutdown();
    return kExitRuntime;
  }
  HealthMonitor health(deployment->components(), deployment->logger("health"),
                       std::chrono::milliseconds(deployment->config().server.value("health_interval_ms", 5000)));
  health.start();

  http::HttpServer server(*options, log);
  http::ServerMetrics metrics;
  http::addSystemRoutes(server, *deployment, health, metrics);
  std::unique_ptr<chat::RunManager> runs;
  std::unique_ptr<chat::Authenticator> auth;
  if (deployment->chatSettings().is_object()) {
    const Json& c = deployment->chatSettings();
    auto store = deployment->components().get<Store>(c["store"].get<std::string>());
    if (!store) {
      err << "marketerx: [chat] store: " << store.status().message() << "\n";
      health.stop();
      deployment->shutdown();
      return kExitRuntime;
    }
    chat::ChatSettings settings;
    settings.graph = c["graph"];
    settings.store = c["store"];
    settings.heartbeat = std::chrono::seconds(c["heartbeat_seconds"].get<int64_t>());
    settings.replay = std::chrono::seconds(c["replay_seconds"].get<int64_t>());
    settings.maxMessageChars = c["max_message_chars"].get<size_t>();
    settings.runsPerSave = c["runs_per_save"].get<size_t>();
    settings.maxLiveRuns = c["max_live_runs"].get<int64_t>() > 0 ? c["max_live_runs"].get<size_t>()
                           : descriptorLimit                     ? turnsWithin(*descriptorLimit)
                                                                 : 0;
    settings.descriptorLimit = descriptorLimit.value_or(0);
    settings.countOpenDescriptors = openDescriptorCount;
    log->info("chat: at most " + (settings.maxLiveRuns == 0 ? std::string("unlimited") : std::to_string(settings.maxLiveRuns)) +
              " turns in progress at once (descriptor limit " +
              (descriptorLimit ? std::to_string(*descriptorLimit) : std::string("unlimited")) + ")");
    settings.cancelOnDisconnect = c["disconnect"] == "cancel";
    settings.metrics = &metrics;
    settings.sessionTtl = std::chrono::seconds(c["session_ttl_seconds"].get<int64_t>());
    if (!c["cache"].get<std::string>().empty()) {
      auto cache = deployment->components().get<CacheBackend>(c["cache"].get<std::string>());
      if (!cache) {
        err << "marketerx: [chat] cache: " << cache.status().message() << "\n";
        health.stop();
        deployment->shutdown();
        return kExitRuntime;
      }
      settings.sessionCache = *cache;
    }
    runs = std::make_unique<chat::RunManager>(*deployment, settings, *store, deployment->logger("chat"));
    metrics.setGauge("mx_runs_active", "chat runs in progress", [manager = runs.get()] { return static_cast<double>(manager->activeRuns()); });
    metrics.setGauge("mx_runs_limit", "chat runs allowed in progress at once ([chat] max_live_runs; 0: no limit)",
                     [manager = runs.get()] { return static_cast<double>(manager->settings().maxLiveRuns); });
    metrics.setGauge("mx_runs_refused", "chat turns refused (503) at the limit of runs in progress or near the descriptor limit",
                     [manager = runs.get()] { return static_cast<double>(manager->refusedTurns()); });
    metrics.setGauge("mx_runs_in_memory", "chat runs in memory: in progress, or finished within the replay window with events the store did not take",
                     [manager = runs.get()] { return static_cast<double>(manager->runsInMemory()); });
    metrics.setGauge("mx_run_save_calls", "store calls that saved finished runs (runs that finished during a save go together, in one call)",
                     [manager = runs.get()] { return static_cast<double>(manager->runSaveCalls()); });
    metrics.setGauge("mx_runs_saved", "finished runs handed to the store (mx_runs_saved / mx_run_save_calls: runs per call)",
                     [manager = runs.get()] { return static_cast<double>(manager->runsSaved()); });
    metrics.setGauge("mx_session_cache_hits", "turns that found their conversation in the session cache",
                     [manager = runs.get()] { return static_cast<double>(manager->sessionCache().hits()); });
    metrics.setGauge("mx_session_cache_misses", "turns of a known conversation that read its checkpoints instead",
                     [manager = runs.get()] { return static_cast<double>(manager->sessionCache().misses()); });
    const Json& a = deployment->authSettings();
    if (a["mode"] == "api_keys") {
      std::map<std::string, std::string> keys;
      for (const auto& [hash, user] : a["keys"].items()) keys[hash] = user.get<std::string>();
      if (!a["key_sha256"].get<std::string>().empty()) keys[a["key_sha256"]] = a["key_user"].get<std::string>();
      auth = std::make_unique<chat::Authenticator>(chat::Authenticator::apiKeys(keys));
    } else {
      auth = std::make_unique<chat::Authenticator>(chat::Authenticator::none(a["local_user"]));
    }
    chat::addChatRoutes(server, *runs, *deployment, *auth, deployment->blockingWork());
  }
  knowledge::KnowledgeServices knowledgeServices;
  if (deployment->knowledgeSettings().is_object()) {
    Status wired = wireKnowledge(*deployment, knowledgeServices);
    if (!wired.isOk()) {
      err << "marketerx: [knowledge] " << wired.message() << "\n";
      health.stop();
      deployment->shutdown();
      return kExitRuntime;
    }
    if (!auth) auth = std::make_unique<chat::Authenticator>(chat::Authenticator::none(deployment->authSettings()["local_user"]));
    knowledgeServices.httpCache.maxAge = std::chrono::seconds(deployment->config().server.value("http_cache_seconds", int64_t{300}));
    knowledge::addKnowledgeRoutes(server, knowledgeServices, *auth, deployment->blockingWork());
  }
  Status started = server.start();
  if (!started.isOk()) {
    err << "marketerx: " << started.message() << "\n";
    health.stop();
    deployment->shutdown();
    return kExitRuntime;
  }
  out << "marketerx: listening on http://" << options->host << ":" << server.port() << std::endl;
  log->info("listening on " + options->host + ":" + std::to_string(server.port()) + " with " +
            std::to_string(deployment->registry().plugins().size()) + " plugin(s)");

  int received = 0;
  sigwait(&signals, &received);
  log->info(std::string("received ") + (received == SIGTERM ? "SIGTERM" : "SIGINT") + ", shutting down");
  if (runs) {
    // Runs end with error(cancelled) + done, so their clients get a terminated stream.
    runs->shutdown(std::chrono::milliseconds(deployment->config().server.value("shutdown_grace_ms", 5000)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the reactors drain the last frames
  }
  server.stop();
  health.stop();
  deployment->shutdown();
  log->info("stopped");
  return kExitOk;
}

class PrintingSink final : public EventSink {
 public:
  explicit PrintingSink(std::ostream& out) : out_(out) {}
  void emit(std::string_view event, std::string data) override {
    std::lock_guard<std::mutex> lock(mutex_);
    out_ << event << ": " << data << std::endl;
  }

 private:
  std::ostream& out_;
  std::mutex mutex_;
};

int runGraph(const Arguments& arguments, std::ostream& out, std::ostream& err) {
  auto option = [&](const char* name) {
    auto it = arguments.options.find(name);
    return it == arguments.options.end() ? std::string() : it->second;
  };
  if (option("--graph").empty() || option("--thread").empty()) {
    err << "marketerx: run-graph needs --graph NAME and --thread ID\n";
    return kExitUsage;
  }
  Json input = option("--input").empty() ? Json::object() : Json::parse(option("--input"), nullptr, false);
  if (input.is_discarded() || !input.is_object()) {
    err << "marketerx: --input must be a JSON object\n";
    return kExitUsage;
  }
  auto deployment = loadOrReport(arguments, err);
  if (!deployment) return kExitUsage;
  auto graph = deployment->graph(option("--graph"));
  if (!graph) {
    err << "marketerx: no graph named \"" << option("--graph") << "\" in " << option("--config") << "\n";
    return kExitUsage;
  }
  Status created = deployment->instantiate();
  if (!created.isOk()) {
    err << created.message() << "\n";
    return kExitRuntime;
  }
  PrintingSink sink(out);
  RunRequest request;
  request.threadId = option("--thread");
  request.runId = option("--run").empty() ? "run-" + option("--thread") : option("--run");
  request.input = input;
  request.events = &sink;
  std::promise<RunOutcome> finished;
  auto done = [&finished](RunOutcome outcome) { finished.set_value(std::move(outcome)); };
  if (hasFlag(arguments, "--resume")) {
    deployment->runtime().resume(graph, request, done);
  } else {
    deployment->runtime().start(graph, request, done);
  }
  RunOutcome outcome = finished.get_future().get();
  Json timings = Json::array();
  for (const auto& t : outcome.timings) {
    timings.push_back({{"node", t.node}, {"step", t.step}, {"ms", t.durationMs}, {"status", t.status}});
  }
  out << Json{{"status", runStatusName(outcome.status)},
              {"error", outcome.error.isOk() ? Json(nullptr) : Json(outcome.error.toString())},
              {"steps", outcome.steps},
              {"next", outcome.next},
              {"interruptedAt", outcome.interruptedAt},
              {"timings", timings},
              {"state", outcome.state}}
             .dump()
      << std::endl;
  deployment->shutdown();
  bool ok = outcome.status == RunStatus::Completed || outcome.status == RunStatus::Interrupted;
  return ok ? kExitOk : kExitRuntime;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto arguments = parse(args, err);
  if (!arguments) {
    return kExitUsage;
  }
  if (hasFlag(*arguments, "--help") || arguments->command == "help") {
    out << kUsage;
    return kExitOk;
  }
  if (hasFlag(*arguments, "--version")) {
    out << "marketerx " << MARKETERX_VERSION << " (sdk-abi " << MX_ABI_MAJOR << "." << MX_ABI_MINOR
        << ", " << MX_TOOLCHAIN_TAG << ")\n";
    return kExitOk;
  }
  if (arguments->command == "serve") {
    return serve(*arguments, out, err);
  }
  if (arguments->command == "check-config") {
    return checkConfig(*arguments, out, err);
  }
  if (arguments->command == "plugins") {
    return listPlugins(*arguments, out, err);
  }
  if (arguments->command == "run-graph") {
    return runGraph(*arguments, out, err);
  }
  if (arguments->command.empty()) {
    err << kUsage;
  } else {
    err << "marketerx: unknown command \"" << arguments->command << "\" (see marketerx --help)\n";
  }
  return kExitUsage;
}

}  // namespace mx::host
