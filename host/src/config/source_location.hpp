// Where in a config file something was written: "file:line:column".
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <toml++/toml.h>

namespace mx::host {

struct SourceLocation {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;

  std::string str() const {
    if (line == 0) {
      return file;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
};

inline SourceLocation locationOf(const toml::node& node, const std::string& file) {
  const auto& source = node.source();
  return {file, source.begin.line, source.begin.column};
}

// A diagnostic anchored in a file: printed as "file:line:col: message".
struct ConfigError {
  SourceLocation where;
  std::string message;

  std::string str() const { return where.str() + ": " + message; }
};

// TOML tables iterate in key order; report problems in file order instead.
inline void sortByLocation(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) <
           std::tie(b.where.file, b.where.line, b.where.column);
  });
}

}  // namespace mx::host
