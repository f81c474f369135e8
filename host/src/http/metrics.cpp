#include "http/metrics.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace mx::host::http {

namespace {

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void header(std::string& out, const std::string& name, const std::string& type, const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// utime + stime of this process in seconds, and its resident set in bytes.
std::pair<double, double> processCpuAndRss() {
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = content.rfind(')');
  double cpu = 0;
  if (close != std::string::npos) {
    std::istringstream fields(content.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    cpu = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return {cpu, resident * static_cast<double>(sysconf(_SC_PAGESIZE))};
}

}  // namespace

void Histogram::observe(double ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < kBucketsMs.size(); ++i) {
    if (ms <= kBucketsMs[i]) ++counts_[i];
  }
  ++count_;
  sum_ += ms;
}

void Histogram::render(const std::string& name, const std::string& help, std::string& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  header(out, name, "histogram", help);
  for (size_t i = 0; i < kBucketsMs.size(); ++i) {
    out += name + "_bucket{le=\"" + number(kBucketsMs[i]) + "\"} " + std::to_string(counts_[i]) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

void ServerMetrics::recordRun(const RunFigures& run) {
  overhead_.observe(std::max(0.0, run.wallMs - run.nodeWaitMs));
  runtimeCpu_.observe(run.runtimeCpuMs);
  duration_.observe(run.wallMs);
  std::lock_guard<std::mutex> lock(mutex_);
  ++runsByStatus_[run.status];
  events_ += run.events;
  if (run.usage.is_object()) {
    modelCalls_ += run.usage.value("modelCalls", uint64_t{0});
    inputTokens_ += run.usage.value("inputTokens", uint64_t{0});
    outputTokens_ += run.usage.value("outputTokens", uint64_t{0});
    costUsd_ += run.usage.value("costUsd", 0.0);
  }
}

void ServerMetrics::setGauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mutex_);
  gauges_[name] = {help, std::move(read)};
}

std::string ServerMetrics::render() const {
  std::string out;
  overhead_.render("mx_run_overhead_ms", "run wall time minus the waits on its nodes (model calls, tools)", out);
  runtimeCpu_.render("mx_run_runtime_cpu_ms", "CPU the graph runtime used for a run on its workers", out);
  duration_.render("mx_run_duration_ms", "run wall time", out);
  std::lock_guard<std::mutex> lock(mutex_);
  header(out, "mx_runs_total", "counter", "finished chat runs by status");
  for (const auto& [status, count] : runsByStatus_) out += "mx_runs_total{status=\"" + status + "\"} " + std::to_string(count) + "\n";
  header(out, "mx_run_events_total", "counter", "SSE events produced by runs");
  out += "mx_run_events_total " + std::to_string(events_) + "\n";
  header(out, "mx_model_calls_total", "counter", "model calls of finished runs (Tier 1 and Tier 2, interrupted included)");
  out += "mx_model_calls_total " + std::to_string(modelCalls_) + "\n";
  header(out, "mx_model_tokens_total", "counter", "model tokens of finished runs");
  out += "mx_model_tokens_total{direction=\"input\"} " + std::to_string(inputTokens_) + "\n";
  out += "mx_model_tokens_total{direction=\"output\"} " + std::to_string(outputTokens_) + "\n";
  header(out, "mx_model_cost_usd_total", "counter", "model cost of finished runs, USD");
  out += "mx_model_cost_usd_total " + number(costUsd_) + "\n";
  for (const auto& [name, gauge] : gauges_) {
    header(out, name, "gauge", gauge.first);
    out += name + " " + number(gauge.second()) + "\n";
  }
  auto [cpu, rss] = processCpuAndRss();
  header(out, "process_cpu_seconds_total", "counter", "user and system CPU of the server process");
  out += "process_cpu_seconds_total " + number(cpu) + "\n";
  header(out, "process_resident_memory_bytes", "gauge", "resident memory of the server process");
  out += "process_resident_memory_bytes " + number(rss) + "\n";
  return out;
}

}  // namespace mx::host::http
