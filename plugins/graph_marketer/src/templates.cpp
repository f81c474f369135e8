#include "templates.hpp"

#include <sstream>

namespace mx::marketer {

namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

Json walk(const Json& root, const std::vector<std::string>& parts, size_t from) {
  const Json* at = &root;
  for (size_t i = from; i < parts.size(); ++i) {
    if (at->is_object() && at->contains(parts[i])) {
      at = &(*at)[parts[i]];
    } else if (at->is_array() && !parts[i].empty() && std::isdigit(static_cast<unsigned char>(parts[i][0]))) {
      size_t index = std::stoul(parts[i]);
      if (index >= at->size()) return nullptr;
      at = &(*at)[index];
    } else {
      return nullptr;
    }
  }
  return *at;
}

Json resolve(const std::string& placeholder, const Json& state, const Turn& turn) {
  if (placeholder == "user_message") return turn.userText;
  if (placeholder.rfind("result:", 0) == 0) {
    auto parts = splitPath(placeholder.substr(7));
    if (parts.empty()) return nullptr;
    const TurnToolCall* call = turn.latest(parts[0]);
    if (call == nullptr || call->isError) return nullptr;
    return walk(call->result, parts, 1);
  }
  return walk(state, splitPath(placeholder), 0);
}

std::string asText(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const auto& item : value) {
      std::string text = asText(item);
      if (!text.empty()) out += (out.empty() ? "" : ", ") + text;
    }
    return out;
  }
  return value.dump();
}

Json fillString(const std::string& text, const Json& state, const Turn& turn) {
  if (text.size() > 2 && text.front() == '{' && text.back() == '}' && text.find('{', 1) == std::string::npos) {
    return resolve(text.substr(1, text.size() - 2), state, turn);
  }
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    size_t close = open == std::string::npos ? std::string::npos : text.find('}', open);
    if (close == std::string::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, open - i) + asText(resolve(text.substr(open + 1, close - open - 1), state, turn));
    i = close + 1;
  }
  // Placeholders that resolved to nothing leave doubled or trailing spaces.
  std::string tidy;
  for (char c : out) {
    if (c == ' ' && (tidy.empty() || tidy.back() == ' ')) continue;
    tidy.push_back(c);
  }
  while (!tidy.empty() && tidy.back() == ' ') tidy.pop_back();
  return tidy.empty() ? Json() : Json(tidy);
}

}  // namespace

Json fillTemplate(const Json& arguments, const Json& state, const Turn& turn) {
  if (arguments.is_string()) return fillString(arguments.get<std::string>(), state, turn);
  if (arguments.is_array()) {
    Json out = Json::array();
    for (const auto& item : arguments) {
      Json filled = fillTemplate(item, state, turn);
      if (!filled.is_null()) out.push_back(std::move(filled));
    }
    return out;
  }
  if (arguments.is_object()) {
    Json out = Json::object();
    for (const auto& [key, value] : arguments.items()) {
      Json filled = fillTemplate(value, state, turn);
      if (!filled.is_null()) out[key] = std::move(filled);
    }
    return out;
  }
  return arguments;
}

Status checkTemplate(const Json& arguments) {
  if (arguments.is_string()) {
    const std::string& text = arguments.get_ref<const std::string&>();
    size_t i = 0;
    while ((i = text.find('{', i)) != std::string::npos) {
      size_t close = text.find('}', i);
      if (close == std::string::npos) return invalidArgumentError("unclosed placeholder in \"" + text + "\"");
      std::string name = text.substr(i + 1, close - i - 1);
      if (name.empty() || name == "result:") return invalidArgumentError("empty placeholder in \"" + text + "\"");
      i = close + 1;
    }
    return Status::ok();
  }
  if (arguments.is_array() || arguments.is_object()) {
    for (const auto& value : arguments) MX_RETURN_IF_ERROR(checkTemplate(value));
  }
  return Status::ok();
}

}  // namespace mx::marketer
