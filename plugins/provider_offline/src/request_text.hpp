// Reading a chat request the way the offline model needs: the user's own words,
// the content type they ask for, the topic, the tool calls made since, and the
// tool results as JSON. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mx/model.hpp"

namespace mx::offline {

// The content types of the architecture: email, ad, landing-page, script.
std::optional<std::string> detectContentType(const std::string& text);
std::string contentTypeLabel(const std::string& contentType);  // "email campaign"

// "Create an email campaign for our spring sale" -> "spring sale".
std::string extractTopic(const std::string& text);
// "... for busy parents" / "... targeting small businesses" -> that audience, or "".
std::string extractAudience(const std::string& text);

std::string titleCase(const std::string& text);
std::string normalizeToolName(const std::string& name);  // fetch_canon -> fetch-canon

struct ToolCallMade {
  std::string name;   // normalised
  Json input;
  Json result;        // the tool_result parsed as JSON, or a string
  bool isError = false;
};

struct Conversation {
  std::string userText;                 // the last human turn (text blocks)
  std::vector<ToolCallMade> toolCalls;  // made since that turn, in order
};

Conversation readConversation(const std::vector<Message>& messages);

// First string found under any of `keys`, searching `value` recursively.
std::string findString(const Json& value, const std::vector<std::string>& keys);

// Rough token count for usage figures (about 4 characters per token).
int64_t estimateTokens(const std::string& text);

}  // namespace mx::offline
