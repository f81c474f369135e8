// The conversation a model is sent from a graph's state: the summary of older
// turns (the `agent.summarize` node's channel: {through, text}) as one more
// system block, then the messages from `through` on. Without a summary, every
// message. Also the rough token estimate the summarising decision uses.
// Pure; thread-safe. Ownership: the request borrows the state's messages
// (ChatRequest::conversation): `state` must outlive the call, unchanged, as a
// node's state does until its step ends.
#pragma once

#include <string>

#include "mx/json.hpp"
#include "mx/model.hpp"

namespace mx::common {

// Adds the summary (if any) to request.system and lends the windowed messages as request.conversation.
void addConversation(const Json& state, const std::string& messagesChannel, const std::string& summaryChannel,
                     ChatRequest& request);

// About 4 characters per token, over every text, tool input and tool result.
int64_t estimateTokens(const Json& messages, size_t from = 0);

}  // namespace mx::common
