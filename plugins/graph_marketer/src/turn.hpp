// The current turn of a conversation held in a messages channel: the user's
// last own words and the tool calls made since, with their results parsed as
// JSON. Shared by the marketer nodes and router. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "mx/json.hpp"

namespace mx::marketer {

struct TurnToolCall {
  std::string id;
  std::string name;
  Json input;
  Json result;          // parsed JSON, or the raw text as a string; null while pending
  bool isError = false;
};

struct Turn {
  std::string userText;
  std::vector<TurnToolCall> calls;

  // The newest call of `tool` (nullptr if none).
  const TurnToolCall* latest(const std::string& tool) const;
  size_t count(const std::string& tool) const;
};

Turn readTurn(const Json& messages);

}  // namespace mx::marketer
