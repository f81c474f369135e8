// mx/config_schema.hpp — the config schema a factory declares.
//
// What: each factory lists the keys its TOML table may hold, their types,
// defaults and whether they are required. The host validates the table against
// it before calling the factory (unknown key with a "did you mean", wrong type,
// missing required key, each reported with file:line:column), applies defaults,
// expands ${VAR} / ${VAR:-default} in strings, and hands the factory a JSON object
// that is guaranteed to match.
// Thread-safety: immutable after registration.
// Ownership: value type, copied into the host's registry.
// Blocking: never.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "mx/json.hpp"

namespace mx {

enum class ConfigType { String, Integer, Float, Boolean, StringArray, Table, Array, Any };

constexpr const char* configTypeName(ConfigType type) {
  switch (type) {
    case ConfigType::String: return "string";
    case ConfigType::Integer: return "integer";
    case ConfigType::Float: return "float";
    case ConfigType::Boolean: return "boolean";
    case ConfigType::StringArray: return "array of strings";
    case ConfigType::Table: return "table";
    case ConfigType::Array: return "array";
    case ConfigType::Any: return "any value";
  }
  return "unknown";
}

struct ConfigField {
  std::string name;
  ConfigType type = ConfigType::String;
  bool required = false;
  Json defaultValue;          // null = no default; the key is then absent from the config
  std::string description;
  bool secret = false;        // never printed by check-config or logs
};

class ConfigSchema {
 public:
  ConfigSchema& required(std::string name, ConfigType type, std::string description) {
    fields_.push_back({std::move(name), type, true, nullptr, std::move(description), false});
    return *this;
  }
  ConfigSchema& optional(std::string name, ConfigType type, Json defaultValue,
                         std::string description) {
    fields_.push_back(
        {std::move(name), type, false, std::move(defaultValue), std::move(description), false});
    return *this;
  }
  // Marks the last added field as secret (API keys, passwords).
  ConfigSchema& secret() {
    if (!fields_.empty()) {
      fields_.back().secret = true;
    }
    return *this;
  }
  // Accept keys not listed (for factories that pass a table through verbatim).
  ConfigSchema& allowUnknownKeys() {
    allowUnknown_ = true;
    return *this;
  }

  const std::vector<ConfigField>& fields() const { return fields_; }
  bool allowsUnknownKeys() const { return allowUnknown_; }

  const ConfigField* find(const std::string& name) const {
    for (const auto& field : fields_) {
      if (field.name == name) {
        return &field;
      }
    }
    return nullptr;
  }

 private:
  std::vector<ConfigField> fields_;
  bool allowUnknown_ = false;
};

}  // namespace mx
