// The offline model as Tier 1: the architecture's canon-first plan, decided
// deterministically from the conversation. Per user request it calls, in
// order and only if offered: fetch-canon, knowledge-search (guided by what the
// canon says to look for), web-search, content-execution (with a brief built
// from canon, knowledge and research), validate-content; then answers. A
// message that asks for no content gets a plain answer without tools.
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "mx/model.hpp"

namespace mx::offline {

struct PlannedTurn {
  std::string text;                      // reasoning before a tool call, or the answer
  std::optional<ContentBlock> toolCall;  // a ToolUse block, or none when answering
};

PlannedTurn planNextTurn(const ChatRequest& request);

}  // namespace mx::offline
