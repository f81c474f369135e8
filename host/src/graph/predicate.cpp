#include "graph/predicate.hpp"

#include <cctype>

namespace mx::host {

namespace {

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  size_t end = text.find_last_not_of(" \t");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

Result<std::vector<std::string>> parsePath(const std::string& text) {
  std::vector<std::string> path;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (current.empty()) return invalidArgumentError("empty segment in path \"" + text + "\"");
      path.push_back(current);
      current.clear();
    } else if (c == '[') {
      if (!current.empty()) path.push_back(current);
      auto close = text.find(']', i);
      if (close == std::string::npos) return invalidArgumentError("unclosed [ in path \"" + text + "\"");
      path.push_back("[" + text.substr(i + 1, close - i - 1) + "]");
      current.clear();
      i = close;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      current.push_back(c);
    } else {
      return invalidArgumentError("unexpected '" + std::string(1, c) + "' in path \"" + text + "\"");
    }
  }
  if (!current.empty()) path.push_back(current);
  if (path.empty() || path[0].front() == '[') return invalidArgumentError("a path must start with a channel name");
  return path;
}

bool truthy(const Json* value) {
  if (value == nullptr || value->is_null()) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_number()) return value->get<double>() != 0;
  if (value->is_string() || value->is_array() || value->is_object()) return !value->empty();
  return true;
}

}  // namespace

const Json* resolvePath(const Json& state, const std::vector<std::string>& path) {
  const Json* node = &state;
  for (const auto& segment : path) {
    if (segment.front() == '[') {
      if (!node->is_array() || node->empty()) return nullptr;
      long index = std::stol(segment.substr(1, segment.size() - 2));
      if (index < 0) index += static_cast<long>(node->size());
      if (index < 0 || index >= static_cast<long>(node->size())) return nullptr;
      node = &(*node)[static_cast<size_t>(index)];
    } else {
      if (!node->is_object()) return nullptr;
      auto it = node->find(segment);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

Result<Predicate> Predicate::parse(const std::string& source) {
  Predicate predicate;
  predicate.text_ = source;
  std::string text = trim(source);
  if (text.rfind("not ", 0) == 0) {
    predicate.negate_ = true;
    text = trim(text.substr(4));
  }
  if (text.empty()) return invalidArgumentError("empty condition");
  if (text.rfind("has_tool_calls(", 0) == 0 && text.back() == ')') {
    predicate.op_ = Op::HasToolCalls;
    std::string channel = trim(text.substr(15, text.size() - 16));
    auto path = parsePath(channel);
    if (!path) return path.status();
    predicate.path_ = *path;
  } else {
    std::string left = text;
    for (const auto& [token, op] : {std::pair<const char*, Op>{"==", Op::Equals}, {"!=", Op::NotEquals}}) {
      auto at = text.find(token);
      if (at == std::string::npos) continue;
      left = trim(text.substr(0, at));
      std::string right = trim(text.substr(at + 2));
      predicate.literal_ = Json::parse(right, nullptr, false);
      if (predicate.literal_.is_discarded()) {
        return invalidArgumentError("the right side of " + std::string(token) + " must be a JSON literal (\"text\", 3, true, null); got " + right);
      }
      predicate.op_ = op;
      break;
    }
    if (predicate.op_ == Op::Truthy && left.size() > 7 && left.substr(left.size() - 7) == " exists") {
      predicate.op_ = Op::Exists;
      left = trim(left.substr(0, left.size() - 7));
    }
    auto path = parsePath(left);
    if (!path) return path.status();
    predicate.path_ = *path;
  }
  predicate.channel_ = predicate.path_.front();
  return predicate;
}

bool Predicate::evaluate(const Json& state) const {
  const Json* value = resolvePath(state, path_);
  bool result = false;
  switch (op_) {
    case Op::HasToolCalls: {
      const Json* last = value != nullptr && value->is_array() && !value->empty() ? &value->back() : nullptr;
      if (last != nullptr && last->is_object() && last->value("role", "") == "assistant" && last->contains("content") &&
          (*last)["content"].is_array()) {
        for (const auto& block : (*last)["content"]) {
          if (block.is_object() && block.value("type", "") == "tool_use") result = true;
        }
      }
      break;
    }
    case Op::Equals: result = (value != nullptr ? *value : nullJson()) == literal_; break;
    case Op::NotEquals: result = (value != nullptr ? *value : nullJson()) != literal_; break;
    case Op::Exists: result = value != nullptr && !value->is_null(); break;
    case Op::Truthy: result = truthy(value); break;
  }
  return negate_ ? !result : result;
}

}  // namespace mx::host
