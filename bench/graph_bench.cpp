// mx_graph_bench: the graph runtime on its own (issue 4's "measure it").
// Loads a deployment (a config file, normally config/production.toml against
// bench's paced mock), starts N runs of its chat graph at once straight
// through GraphRuntime (no HTTP), and samples the process while they wait on
// the model: threads, RSS. Prints one JSON object: the thread count before
// and at its peak (it must not grow with N: a waiting run holds no thread),
// memory per live run, CPU per run, completion percentiles and errors.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/env_expansion.hpp"
#include "runtime/deployment.hpp"

#include "bench_stats.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using mx::Json;

// Counts a run's events: what the chat layer would frame and send.
class CountingSink final : public mx::EventSink {
 public:
  void emit(std::string_view, std::string data) override {
    events.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(data.size(), std::memory_order_relaxed);
  }
  std::atomic<size_t> events{0};
  std::atomic<size_t> bytes{0};
};

long statusField(const char* field) {  // from /proc/self/status, in its unit (kB or a count)
  std::ifstream status("/proc/self/status");
  std::string line;
  size_t length = std::char_traits<char>::length(field);
  while (std::getline(status, line)) {
    if (line.compare(0, length, field) == 0) return std::stol(line.substr(length + 1));
  }
  return -1;
}

double cpuMs() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

using mx::bench::percentile;

struct Options {
  std::string config;
  std::string graph;
  size_t runs = 100;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--config") options.config = value;
    else if (flag == "--graph") options.graph = value;
    else if (flag == "--runs") options.runs = std::stoul(value);
    else throw std::invalid_argument("unknown option " + flag);
  }
  if (options.config.empty()) throw std::invalid_argument("--config is required");
  return options;
}

mx::host::RunRequest runRequest(const mx::host::GraphDefinition& graph, size_t n, mx::EventSink* sink) {
  mx::host::RunRequest request;
  request.threadId = "bench_thread_" + std::to_string(n);
  request.runId = "bench_run_" + std::to_string(n);
  request.userId = "bench";
  request.input = {{"messages", Json::array({{{"role", "user"}, {"content", "Create an email campaign for our spring sale #" + std::to_string(n)}}})}};
  if (graph.channel("context")) request.input["context"] = Json::object();
  request.events = sink;
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mx_graph_bench: %s\nusage: mx_graph_bench --config FILE [--graph NAME] [--runs N]\n", e.what());
    return 2;
  }
  std::vector<std::string> errors;
  auto deployment = mx::host::Deployment::load(options.config, mx::host::processEnvironment(), errors);
  if (!deployment) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  if (auto status = deployment->instantiate(); !status.isOk()) {
    std::fprintf(stderr, "mx_graph_bench: %s\n", status.message().c_str());
    return 1;
  }
  std::string graphName = options.graph.empty() ? deployment->chatSettings().value("graph", "") : options.graph;
  auto graph = deployment->graph(graphName);
  if (!graph) {
    std::fprintf(stderr, "mx_graph_bench: no graph \"%s\" in %s\n", graphName.c_str(), options.config.c_str());
    return 1;
  }

  std::vector<CountingSink> sinks(options.runs);
  std::vector<double> totals;
  std::vector<std::string> problems;
  std::mutex mutex;
  std::condition_variable finished;
  size_t done = 0, failed = 0;

  long threadsBefore = statusField("Threads:");
  long rssBefore = statusField("VmRSS:");
  double cpuBefore = cpuMs();
  auto begin = Clock::now();
  for (size_t n = 0; n < options.runs; ++n) {
    deployment->runtime().start(graph, runRequest(*graph, n, &sinks[n]), [&, begin](mx::host::RunOutcome outcome) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
      std::lock_guard<std::mutex> lock(mutex);
      if (outcome.status == mx::host::RunStatus::Completed) {
        totals.push_back(ms);
      } else {
        ++failed;
        if (problems.size() < 5) problems.push_back(outcome.error.message());
      }
      ++done;
      finished.notify_all();
    });
  }
  long peakThreads = threadsBefore, peakRss = rssBefore;
  {
    std::unique_lock<std::mutex> lock(mutex);
    while (done < options.runs) {
      finished.wait_for(lock, std::chrono::milliseconds(20));
      peakThreads = std::max(peakThreads, statusField("Threads:"));
      peakRss = std::max(peakRss, statusField("VmRSS:"));
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  double cpu = cpuMs() - cpuBefore;
  size_t events = 0;
  for (const auto& sink : sinks) events += sink.events.load();
  size_t ok = options.runs - failed;
  Json out = {{"runs", options.runs}, {"errors", failed}, {"problems", problems}, {"seconds", seconds},
              {"workers", deployment->workers().size()},
              {"threadsBefore", threadsBefore}, {"threadsPeak", peakThreads},
              {"rssBeforeKb", rssBefore}, {"rssPeakKb", peakRss},
              {"kbPerRun", static_cast<double>(peakRss - rssBefore) / static_cast<double>(std::max<size_t>(1, options.runs))},
              {"cpuMsPerRun", cpu / static_cast<double>(std::max<size_t>(1, ok))},
              {"eventsPerRun", static_cast<double>(events) / static_cast<double>(std::max<size_t>(1, options.runs))},
              {"runsPerSecond", static_cast<double>(ok) / seconds},
              {"totalMs", {{"p50", percentile(totals, 0.5)}, {"p90", percentile(totals, 0.9)}, {"p99", percentile(totals, 0.99)}}}};
  std::printf("%s\n", out.dump().c_str());
  deployment->shutdown();
  return failed == 0 ? 0 : 1;
}
