#include "turn.hpp"

#include <map>

#include "mx/model.hpp"
#include "mx/json_parse.hpp"

namespace mx::marketer {

namespace {

std::string textOf(const Message& message) {
  std::string text;
  for (const auto& block : message.content) {
    if (block.type == BlockType::Text) text += block.text;
  }
  return text;
}

}  // namespace

const TurnToolCall* Turn::latest(const std::string& tool) const {
  for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
    if (it->name == tool) return &*it;
  }
  return nullptr;
}

size_t Turn::count(const std::string& tool) const {
  size_t n = 0;
  for (const auto& call : calls) n += call.name == tool;
  return n;
}

Turn readTurn(const Json& messages) {
  Turn turn;
  if (!messages.is_array()) return turn;
  std::vector<Message> parsed;
  parsed.reserve(messages.size());
  for (const auto& m : messages) parsed.push_back(messageFromJson(m));
  size_t human = parsed.size();
  for (size_t i = parsed.size(); i-- > 0;) {
    bool hasResults = false;
    for (const auto& block : parsed[i].content) hasResults = hasResults || block.type == BlockType::ToolResult;
    if (parsed[i].role == Role::User && !hasResults && !textOf(parsed[i]).empty()) {
      human = i;
      break;
    }
  }
  if (human == parsed.size()) return turn;
  turn.userText = textOf(parsed[human]);
  std::map<std::string, size_t> byId;
  for (size_t i = human + 1; i < parsed.size(); ++i) {
    for (const auto& block : parsed[i].content) {
      if (block.type == BlockType::ToolUse) {
        byId[block.id] = turn.calls.size();
        turn.calls.push_back({block.id, block.name, block.input, nullptr, false});
      } else if (block.type == BlockType::ToolResult) {
        auto it = byId.find(block.id);
        if (it == byId.end()) continue;
        Json result = parseJson(block.text);
        turn.calls[it->second].result = result.is_discarded() ? Json(block.text) : result;
        turn.calls[it->second].isError = block.isError;
      }
    }
  }
  return turn;
}

}  // namespace mx::marketer
