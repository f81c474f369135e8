#include "config/schema_validation.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "config/suggest.hpp"

namespace mx::host {

namespace {

std::string tomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "value";
  }
}

std::optional<std::string> expandedString(const toml::node& node, const std::string& file,
                                          const EnvLookup& env, std::vector<ConfigError>& errors) {
  auto expanded = expandEnvironment(node.as_string()->get(), env);
  if (!expanded) {
    errors.push_back({locationOf(node, file), expanded.status().message()});
    return std::nullopt;
  }
  return std::move(expanded).value();
}

std::optional<int64_t> parseInteger(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parseFloat(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> parseBoolean(const std::string& text) {
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  return std::nullopt;
}

struct FieldCheck {
  const ConfigField& field;
  const toml::node& node;
  const TableContext& context;
  const EnvLookup& env;
  std::vector<ConfigError>& errors;

  void wrongType(const std::string& got) const {
    errors.push_back({locationOf(node, context.file),
                      context.label + " key \"" + field.name + "\" must be " +
                          (field.type == ConfigType::Integer ? "an " : "a ") +
                          configTypeName(field.type) + ", got " + got});
  }

  // Numbers and booleans may come from the environment as strings ("${PORT:-8080}").
  template <class T, class Parse>
  Json scalarFromString(Parse parse) const {
    auto text = expandedString(node, context.file, env, errors);
    if (!text) {
      return nullptr;
    }
    auto value = parse(*text);
    if (!value) {
      wrongType("\"" + (field.secret ? std::string("***") : *text) + "\"");
      return nullptr;
    }
    return Json(static_cast<T>(*value));
  }

  Json run() const {
    switch (field.type) {
      case ConfigType::String:
        if (!node.is_string()) {
          wrongType(tomlTypeName(node));
          return nullptr;
        }
        return expandedString(node, context.file, env, errors).value_or("");
      case ConfigType::Integer:
        if (node.is_integer()) {
          return node.as_integer()->get();
        }
        if (node.is_string()) {
          return scalarFromString<int64_t>(parseInteger);
        }
        wrongType(tomlTypeName(node));
        return nullptr;
      case ConfigType::Float:
        if (node.is_integer()) {
          return static_cast<double>(node.as_integer()->get());
        }
        if (node.is_floating_point()) {
          return node.as_floating_point()->get();
        }
        if (node.is_string()) {
          return scalarFromString<double>(parseFloat);
        }
        wrongType(tomlTypeName(node));
        return nullptr;
      case ConfigType::Boolean:
        if (node.is_boolean()) {
          return node.as_boolean()->get();
        }
        if (node.is_string()) {
          return scalarFromString<bool>(parseBoolean);
        }
        wrongType(tomlTypeName(node));
        return nullptr;
      case ConfigType::StringArray: {
        const auto* array = node.as_array();
        if (array == nullptr) {
          wrongType(tomlTypeName(node));
          return nullptr;
        }
        Json out = Json::array();
        for (const auto& element : *array) {
          if (!element.is_string()) {
            errors.push_back({locationOf(element, context.file),
                              context.label + " key \"" + field.name +
                                  "\" must be an array of strings, got an element of type " +
                                  tomlTypeName(element)});
            continue;
          }
          out.push_back(expandedString(element, context.file, env, errors).value_or(""));
        }
        return out;
      }
      case ConfigType::Table:
        if (!node.is_table()) {
          wrongType(tomlTypeName(node));
          return nullptr;
        }
        return tomlToJson(node, context.file, env, errors);
      case ConfigType::Array:
        if (!node.is_array()) {
          wrongType(tomlTypeName(node));
          return nullptr;
        }
        return tomlToJson(node, context.file, env, errors);
      case ConfigType::Any:
        return tomlToJson(node, context.file, env, errors);
    }
    return nullptr;
  }
};

}  // namespace

Json tomlToJson(const toml::node& node, const std::string& file, const EnvLookup& env,
                std::vector<ConfigError>& errors) {
  switch (node.type()) {
    case toml::node_type::string:
      return expandedString(node, file, env, errors).value_or("");
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    case toml::node_type::array: {
      Json out = Json::array();
      for (const auto& element : *node.as_array()) {
        out.push_back(tomlToJson(element, file, env, errors));
      }
      return out;
    }
    case toml::node_type::table: {
      Json out = Json::object();
      for (const auto& [key, value] : *node.as_table()) {
        out[std::string(key.str())] = tomlToJson(value, file, env, errors);
      }
      return out;
    }
    default: {
      std::ostringstream text;
      if (const auto* d = node.as_date()) {
        text << d->get();
      } else if (const auto* t = node.as_time()) {
        text << t->get();
      } else if (const auto* dt = node.as_date_time()) {
        text << dt->get();
      }
      return text.str();
    }
  }
}

Json validateTable(const toml::table& table, const ConfigSchema& schema,
                   const TableContext& context, const EnvLookup& env,
                   std::vector<ConfigError>& errors) {
  Json out = Json::object();
  size_t firstError = errors.size();
  std::vector<std::string> known;
  for (const auto& field : schema.fields()) {
    known.push_back(field.name);
  }
  for (const auto& [key, node] : table) {
    std::string name(key.str());
    if (std::find(context.reservedKeys.begin(), context.reservedKeys.end(), name) !=
        context.reservedKeys.end()) {
      continue;
    }
    const ConfigField* field = schema.find(name);
    if (field == nullptr) {
      if (schema.allowsUnknownKeys()) {
        out[name] = tomlToJson(node, context.file, env, errors);
        continue;
      }
      errors.push_back({locationOf(node, context.file),
                        context.label + " unknown key \"" + name + "\"" + didYouMean(name, known)});
      continue;
    }
    out[name] = FieldCheck{*field, node, context, env, errors}.run();
  }
  for (const auto& field : schema.fields()) {
    if (out.contains(field.name)) {
      continue;
    }
    if (field.required) {
      errors.push_back({locationOf(table, context.file),
                        context.label + " missing required key \"" + field.name + "\" (" +
                            configTypeName(field.type) + ": " + field.description + ")"});
    } else if (!field.defaultValue.is_null()) {
      out[field.name] = field.defaultValue;
    }
  }
  std::vector<ConfigError> mine(errors.begin() + static_cast<std::ptrdiff_t>(firstError), errors.end());
  sortByLocation(mine);
  std::copy(mine.begin(), mine.end(), errors.begin() + static_cast<std::ptrdiff_t>(firstError));
  return out;
}

}  // namespace mx::host
