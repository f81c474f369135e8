#include "runtime/logging.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "mx/json.hpp"

namespace mx::host {

namespace {

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "DEBUG";
    case LogLevel::Info: return "INFO";
    case LogLevel::Warn: return "WARN";
    case LogLevel::Error: return "ERROR";
  }
  return "INFO";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace

Result<LogLevel> LogOutput::parseLevel(const std::string& text) {
  if (text == "debug") return LogLevel::Debug;
  if (text == "info") return LogLevel::Info;
  if (text == "warn") return LogLevel::Warn;
  if (text == "error") return LogLevel::Error;
  return invalidArgumentError("log_level must be one of debug, info, warn, error; got \"" + text + "\"");
}

void LogOutput::write(LogLevel level, std::string_view source, std::string_view message) {
  std::string line;
  if (json_) {
    line = Json{{"time", timestamp()},
                {"level", levelName(level)},
                {"source", source},
                {"message", message}}
               .dump(-1, ' ', false, Json::error_handler_t::replace);
  } else {
    line = timestamp() + " " + levelName(level) + " [" + std::string(source) + "] " + std::string(message);
  }
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mx::host
