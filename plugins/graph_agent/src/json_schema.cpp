#include "json_schema.hpp"

namespace mx::agent {

namespace {

std::string typeOf(const Json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "boolean";
  if (value.is_number_integer() || value.is_number_unsigned()) return "integer";
  if (value.is_number()) return "number";
  if (value.is_string()) return "string";
  if (value.is_array()) return "array";
  return "object";
}

bool matchesType(const Json& value, const std::string& type) {
  std::string actual = typeOf(value);
  if (type == "number") return actual == "number" || actual == "integer";
  if (type == "integer" && actual == "number") {
    double d = value.get<double>();
    return d == static_cast<double>(static_cast<int64_t>(d));
  }
  return actual == type;
}

void check(const Json& value, const Json& schema, const std::string& path, std::vector<std::string>& errors) {
  if (!schema.is_object()) return;
  std::string where = path.empty() ? "/" : path;
  if (schema.contains("type")) {
    std::vector<std::string> types;
    if (schema["type"].is_string()) types.push_back(schema["type"]);
    if (schema["type"].is_array()) {
      for (const auto& t : schema["type"]) types.push_back(t);
    }
    bool ok = types.empty();
    for (const auto& t : types) ok = ok || matchesType(value, t);
    if (!ok) {
      std::string expected;
      for (const auto& t : types) expected += (expected.empty() ? "" : " or ") + t;
      errors.push_back(where + ": expected " + expected + ", got " + typeOf(value));
      return;
    }
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    bool found = false;
    for (const auto& option : schema["enum"]) found = found || option == value;
    if (!found) errors.push_back(where + ": must be one of " + schema["enum"].dump() + ", got " + value.dump());
  }
  if (schema.contains("const") && schema["const"] != value) {
    errors.push_back(where + ": must be " + schema["const"].dump());
  }
  if (value.is_number()) {
    double number = value.get<double>();
    if (schema.contains("minimum") && number < schema["minimum"].get<double>()) {
      errors.push_back(where + ": must be at least " + schema["minimum"].dump());
    }
    if (schema.contains("maximum") && number > schema["maximum"].get<double>()) {
      errors.push_back(where + ": must be at most " + schema["maximum"].dump());
    }
  }
  if (value.is_string()) {
    size_t length = value.get_ref<const std::string&>().size();
    if (schema.contains("minLength") && length < schema["minLength"].get<size_t>()) {
      errors.push_back(where + ": must have at least " + schema["minLength"].dump() + " characters");
    }
    if (schema.contains("maxLength") && length > schema["maxLength"].get<size_t>()) {
      errors.push_back(where + ": must have at most " + schema["maxLength"].dump() + " characters");
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>()) {
      errors.push_back(where + ": must have at least " + schema["minItems"].dump() + " items");
    }
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) {
      errors.push_back(where + ": must have at most " + schema["maxItems"].dump() + " items");
    }
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) check(value[i], schema["items"], path + "/" + std::to_string(i), errors);
    }
  }
  if (value.is_object()) {
    const Json& properties = objectMember(schema, "properties");
    if (schema.contains("required") && schema["required"].is_array()) {
      for (const auto& name : schema["required"]) {
        if (name.is_string() && !value.contains(name.get<std::string>())) {
          errors.push_back(where + ": missing required property \"" + name.get<std::string>() + "\"");
        }
      }
    }
    for (const auto& [key, child] : value.items()) {
      if (properties.contains(key)) {
        check(child, properties[key], path + "/" + key, errors);
      } else if (schema.contains("additionalProperties") && schema["additionalProperties"] == false) {
        errors.push_back(where + ": unexpected property \"" + key + "\"");
      }
    }
  }
}

}  // namespace

std::vector<std::string> validateAgainstSchema(const Json& value, const Json& schema) {
  std::vector<std::string> errors;
  check(value, schema, "", errors);
  return errors;
}

}  // namespace mx::agent
