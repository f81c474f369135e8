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
#include <string_view>

#include "mx/model.hpp"

namespace mx::anthropic {

enum class ConversationBreakpoint { None, LastUserMessage };

struct RequestOptions {
  ConversationBreakpoint conversationBreakpoint = ConversationBreakpoint::LastUserMessage;
};

// The request's "tools" array as text (with the cache breakpoint on the last
// tool when the request asks for one); empty when it offers no tools.
std::string toolsJson(const ChatRequest& request);

// `toolsText`: toolsJson(request) made earlier (a provider keeps it per
// ToolSet); empty: written here.
std::string buildRequestBody(const ChatRequest& request, const RequestOptions& options, std::string_view toolsText = {});

}  // namespace mx::anthropic
