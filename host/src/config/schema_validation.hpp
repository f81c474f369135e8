// Validates a TOML table against a factory's ConfigSchema and converts it to
// JSON, expanding ${VAR} in every string. Every problem is reported with its
// file:line:column; the caller decides whether to stop. Pure (apart from the
// environment lookup); thread-safe; never blocks.
#pragma once

#include <string>
#include <vector>

#include "config/env_expansion.hpp"
#include "config/source_location.hpp"
#include "mx/config_schema.hpp"
#include "mx/json.hpp"

namespace mx::host {

struct TableContext {
  std::string file;          // the config file, for locations
  std::string label;         // "[caches.main]", for messages
  std::vector<std::string> reservedKeys;  // keys the host consumes itself (e.g. "factory")
};

// Returns the validated config: defaults applied, strings expanded. Appends to
// `errors`; the result is only meaningful when nothing was appended.
Json validateTable(const toml::table& table, const ConfigSchema& schema,
                   const TableContext& context, const EnvLookup& env,
                   std::vector<ConfigError>& errors);

// Any TOML node to JSON, with ${VAR} expanded in strings.
Json tomlToJson(const toml::node& node, const std::string& file, const EnvLookup& env,
                std::vector<ConfigError>& errors);

}  // namespace mx::host
