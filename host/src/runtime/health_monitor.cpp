#include "runtime/health_monitor.hpp"
#include "runtime/thread_name.hpp"

namespace mx::host {

HealthMonitor::HealthMonitor(ComponentSet& components, std::shared_ptr<Logger> logger,
                             std::chrono::milliseconds interval)
    : components_(components), logger_(std::move(logger)), interval_(interval) {}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::start() {
  checkOnce();
  thread_ = std::thread([this] {
    nameThisThread("mx-health");
    loop();
  });
}

void HealthMonitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void HealthMonitor::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) {
      break;
    }
    lock.unlock();
    checkOnce();
    lock.lock();
  }
}

void HealthMonitor::checkOnce() {
  std::map<std::string, std::string> results;
  for (const auto& instance : components_.instances()) {
    if (!instance->object) {
      continue;
    }
    Status status = instance->object->health();
    results[instance->declaration->label()] = status.isOk() ? "ok" : status.toString();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [label, state] : results) {
    auto previous = results_.find(label);
    std::string before = previous == results_.end() ? "ok" : previous->second;
    if (before != state) {
      logger_->log(state == "ok" ? LogLevel::Info : LogLevel::Warn,
                   label + " health: " + state);
    }
  }
  results_ = std::move(results);
  checked_ = true;
}

bool HealthMonitor::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!checked_) {
    return false;
  }
  for (const auto& [label, state] : results_) {
    if (state != "ok") {
      return false;
    }
  }
  return true;
}

std::map<std::string, std::string> HealthMonitor::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return results_;
}

}  // namespace mx::host
