// Builds the JSON body of a streaming Chat Completions call
// (POST {base_url}/chat/completions) from an mx::ChatRequest. Works for the
// OpenAI API and OpenAI-compatible servers (Ollama, vLLM, llama.cpp), whose
// differences are options. Pure; thread-safe.
#pragma once

#include <string>

#include "mx/model.hpp"

namespace mx::openai {

struct ChatOptions {
  std::string maxTokensField = "max_completion_tokens";  // older servers: "max_tokens"
  bool includeUsage = true;                                // stream_options.include_usage
};

Json buildChatBody(const ChatRequest& request, const ChatOptions& options);

}  // namespace mx::openai
