// Builds the JSON body of a streaming Messages API call (POST /v1/messages)
// from an mx::ChatRequest: system blocks, messages of content blocks, tools,
// prompt-caching breakpoints (system, tools, the conversation), extended
// thinking. Pure; thread-safe.
#pragma once

#include "mx/model.hpp"

namespace mx::anthropic {

enum class ConversationBreakpoint { None, LastUserMessage };

struct RequestOptions {
  ConversationBreakpoint conversationBreakpoint = ConversationBreakpoint::LastUserMessage;
};

Json buildRequestBody(const ChatRequest& request, const RequestOptions& options);

}  // namespace mx::anthropic
