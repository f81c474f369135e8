// Server metrics in the Prometheus text format (GET /metrics): what each chat
// run cost the server apart from waiting on models and tools, run counts and
// outcomes, model tokens and cost, SSE events, and the process's CPU and
// memory. Histograms have fixed millisecond buckets.
//   mx_run_overhead_ms     a run's wall time minus its waits on nodes (the
//                          slowest node of each super-step: model calls,
//                          tools): scheduling, checkpoints, queueing, saving
//   mx_run_runtime_cpu_ms  CPU the graph runtime used for the run on its workers
//   mx_run_duration_ms     the run's wall time
// Thread-safety: record* and render from any thread. Blocking: never (render
// reads /proc/self).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "mx/json.hpp"

namespace mx::host::http {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBucketsMs = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000, 30000};
  void observe(double ms);
  // Appends the _bucket, _sum and _count lines of `name`.
  void render(const std::string& name, const std::string& help, std::string& out) const;

 private:
  mutable std::mutex mutex_;
  std::array<uint64_t, kBucketsMs.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

struct RunFigures {
  std::string status;        // completed, cancelled, failed, interrupted
  double wallMs = 0;
  double nodeWaitMs = 0;
  double runtimeCpuMs = 0;
  size_t events = 0;         // SSE events the run produced
  Json usage;                // the run's model usage (RunUsage::toJson)
};

class ServerMetrics {
 public:
  void recordRun(const RunFigures& run);
  // Gauges read at render time (active runs, open streams).
  void setGauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> runsByStatus_;
  std::map<std::string, std::pair<std::string, std::function<double()>>> gauges_;
  uint64_t events_ = 0;
  uint64_t modelCalls_ = 0;
  uint64_t inputTokens_ = 0;
  uint64_t outputTokens_ = 0;
  double costUsd_ = 0;
  Histogram overhead_;
  Histogram runtimeCpu_;
  Histogram duration_;
};

}  // namespace mx::host::http
