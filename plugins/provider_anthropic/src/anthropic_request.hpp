// Builds the JSON body of a streaming Messages API call (POST /v1/messages)
// from an mx::ChatRequest: system blocks, messages of content blocks, tools,
// prompt-caching breakpoints (system, tools, the conversation), extended
// thinking. The body is written as text straight from the request (no JSON
// tree: a Tier 1 call carries the whole conversation, canon included, and
// building a tree of it only to serialise it showed as a tenth of the
// server's CPU). Invalid UTF-8 in a string becomes U+FFFD.
// Pure; thread-safe; never blocks.
#pragma once

#include <string>

#include "mx/model.hpp"

namespace mx::anthropic {

enum class ConversationBreakpoint { None, LastUserMessage };

struct RequestOptions {
  ConversationBreakpoint conversationBreakpoint = ConversationBreakpoint::LastUserMessage;
};

std::string buildRequestBody(const ChatRequest& request, const RequestOptions& options);

}  // namespace mx::anthropic
