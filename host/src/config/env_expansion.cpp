#include "config/env_expansion.hpp"

#include <cctype>
#include <cstdlib>

namespace mx::host {

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

namespace {

bool isValidName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

Result<std::string> expandReference(std::string_view inner, const EnvLookup& lookup) {
  auto separator = inner.find(":-");
  std::string name(inner.substr(0, separator));
  if (!isValidName(name)) {
    return invalidArgumentError("invalid environment variable reference \"${" +
                                std::string(inner) + "}\"");
  }
  auto value = lookup(name);
  if (separator == std::string_view::npos) {
    if (!value) {
      return invalidArgumentError("environment variable " + name +
                                  " is not set and has no default (write ${" + name +
                                  ":-default} to give one)");
    }
    return *value;
  }
  if (value && !value->empty()) {
    return *value;
  }
  return std::string(inner.substr(separator + 2));
}

}  // namespace

Result<std::string> expandEnvironment(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out.push_back(c);
      continue;
    }
    char next = text[i + 1];
    if (next == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (next != '{') {
      out.push_back(c);
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return invalidArgumentError("unterminated \"${\" in \"" + std::string(text) + "\"");
    }
    auto expanded = expandReference(text.substr(i + 2, close - i - 2), lookup);
    if (!expanded) {
      return expanded.status();
    }
    out += *expanded;
    i = close;
  }
  return out;
}

}  // namespace mx::host
