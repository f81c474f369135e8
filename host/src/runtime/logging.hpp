// Process-wide log output and the per-component loggers handed to plugins.
//
// Lines go to stderr as text ("2026-11-28T22:10:32.123Z INFO  [caches.main] msg")
// or JSON lines. One mutex serialises lines; writes are small and unbuffered
// by design (a crash must not lose the last lines).
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "mx/log.hpp"
#include "mx/status.hpp"

namespace mx::host {

class LogOutput {
 public:
  LogOutput(LogLevel level, bool json) : level_(level), json_(json) {}
  void write(LogLevel level, std::string_view source, std::string_view message);
  bool enabled(LogLevel level) const { return level >= level_; }

  static Result<LogLevel> parseLevel(const std::string& text);

 private:
  LogLevel level_;
  bool json_;
  std::mutex mutex_;
};

class SourceLogger final : public Logger {
 public:
  SourceLogger(std::shared_ptr<LogOutput> output, std::string source)
      : output_(std::move(output)), source_(std::move(source)) {}
  void log(LogLevel level, std::string_view message) override {
    if (output_->enabled(level)) {
      output_->write(level, source_, message);
    }
  }
  bool enabled(LogLevel level) const override { return output_->enabled(level); }

 private:
  std::shared_ptr<LogOutput> output_;
  std::string source_;
};

}  // namespace mx::host
