// Periodic health checks of every component, for /readyz.
//
// A background thread calls each component's health() every interval, so that
// /readyz answers from memory without blocking a reactor on a PING. The
// deployment is ready once the first round has passed with every component
// healthy, and stays ready only while they are.
// Thread-safety: snapshot()/ready() from any thread.
// Blocking: start() runs the first round synchronously; stop() joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "mx/log.hpp"
#include "runtime/component_set.hpp"

namespace mx::host {

class HealthMonitor {
 public:
  HealthMonitor(ComponentSet& components, std::shared_ptr<Logger> logger,
                std::chrono::milliseconds interval);
  ~HealthMonitor();

  void start();
  void stop();

  bool ready() const;
  // instance label -> "ok" or the error text
  std::map<std::string, std::string> snapshot() const;

 private:
  void checkOnce();
  void loop();

  ComponentSet& components_;
  std::shared_ptr<Logger> logger_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::string> results_;
  bool checked_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mx::host
