// mx/log.hpp — the logger the host hands to every component.
//
// What: a minimal structured logger. The host prefixes each line with the time,
// the level and the component's name; plugins never write to stdout/stderr.
// Secrets (API keys) must never be passed to it.
// Thread-safety: every method may be called from any thread.
// Ownership: owned by the host; valid for the lifetime of the component it was
// given to.
// Blocking: may take a short lock to write a line; never waits on I/O readiness.
#pragma once

#include <string_view>

namespace mx {

enum class LogLevel : int { Debug = 0, Info = 1, Warn = 2, Error = 3 };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  virtual bool enabled(LogLevel level) const = 0;

  void debug(std::string_view m) { log(LogLevel::Debug, m); }
  void info(std::string_view m) { log(LogLevel::Info, m); }
  void warn(std::string_view m) { log(LogLevel::Warn, m); }
  void error(std::string_view m) { log(LogLevel::Error, m); }
};

}  // namespace mx
