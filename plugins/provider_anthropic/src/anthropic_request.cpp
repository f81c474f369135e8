#include "anthropic_request.hpp"

namespace mx::anthropic {

namespace {

Json cacheControl(CacheTtl ttl) {
  Json control = {{"type", "ephemeral"}};
  if (ttl == CacheTtl::OneHour) {
    control["ttl"] = "1h";
  }
  return control;
}

std::optional<Json> blockJson(const ContentBlock& block) {
  switch (block.type) {
    case BlockType::Text:
      if (block.text.empty()) {
        return std::nullopt;  // the API rejects empty text blocks
      }
      return Json{{"type", "text"}, {"text", block.text}};
    case BlockType::ToolUse:
      return Json{{"type", "tool_use"},
                  {"id", block.id},
                  {"name", block.name},
                  {"input", block.input.is_object() ? block.input : Json::object()}};
    case BlockType::ToolResult: {
      Json result = {{"type", "tool_result"}, {"tool_use_id", block.id}, {"content", block.text}};
      if (block.isError) {
        result["is_error"] = true;
      }
      return result;
    }
    case BlockType::Thinking:
      return Json{{"type", "thinking"}, {"thinking", block.text}, {"signature", block.signature}};
  }
  return std::nullopt;
}

int lastUserMessage(const std::vector<Message>& messages) {
  for (int i = static_cast<int>(messages.size()) - 1; i >= 0; --i) {
    if (messages[static_cast<size_t>(i)].role == Role::User) {
      return i;
    }
  }
  return -1;
}

}  // namespace

Json buildRequestBody(const ChatRequest& request, const RequestOptions& options) {
  Json body = {{"model", request.model}, {"max_tokens", request.maxTokens}, {"stream", true}};
  bool caching = request.cacheSystemAndTools;

  Json system = Json::array();
  for (const auto& block : request.system) {
    if (!block.text.empty()) {
      system.push_back({{"type", "text"}, {"text", block.text}});
    }
  }
  if (!system.empty()) {
    if (caching) {
      system.back()["cache_control"] = cacheControl(request.cacheTtl);
    }
    body["system"] = std::move(system);
  }

  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& tool : request.tools) {
      tools.push_back({{"name", tool.name},
                       {"description", tool.description},
                       {"input_schema", tool.inputSchema.is_object() ? tool.inputSchema : Json{{"type", "object"}}}});
    }
    if (caching) {
      tools.back()["cache_control"] = cacheControl(request.cacheTtl);
    }
    body["tools"] = std::move(tools);
  }

  int breakpointMessage = caching && options.conversationBreakpoint == ConversationBreakpoint::LastUserMessage
                              ? lastUserMessage(request.messages)
                              : -1;
  Json messages = Json::array();
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const Message& message = request.messages[i];
    Json content = Json::array();
    for (const auto& block : message.content) {
      auto json = blockJson(block);
      if (!json) {
        continue;
      }
      if (block.cacheBreakpoint && block.type != BlockType::Thinking) {
        (*json)["cache_control"] = cacheControl(request.cacheTtl);
      }
      content.push_back(std::move(*json));
    }
    if (content.empty()) {
      continue;
    }
    if (static_cast<int>(i) == breakpointMessage && content.back().value("type", "") != "thinking") {
      content.back()["cache_control"] = cacheControl(request.cacheTtl);
    }
    messages.push_back({{"role", message.role == Role::User ? "user" : "assistant"}, {"content", std::move(content)}});
  }
  body["messages"] = std::move(messages);

  if (request.temperature) {
    body["temperature"] = *request.temperature;
  }
  if (!request.stopSequences.empty()) {
    body["stop_sequences"] = request.stopSequences;
  }
  if (request.thinkingBudgetTokens) {
    body["thinking"] = {{"type", "enabled"}, {"budget_tokens", *request.thinkingBudgetTokens}};
  }
  if (!request.userId.empty()) {
    body["metadata"] = {{"user_id", request.userId}};
  }
  return body;
}

}  // namespace mx::anthropic
