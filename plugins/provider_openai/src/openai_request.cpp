#include "openai_request.hpp"

namespace mx::openai {

namespace {

// A user turn: text becomes the user message; each tool_result becomes its own
// "tool" message (OpenAI has no tool results inside user messages).
void appendUserTurn(const Message& message, Json& out) {
  std::string text;
  for (const auto& block : message.content) {
    if (block.type == BlockType::ToolResult) {
      out.push_back({{"role", "tool"},
                     {"tool_call_id", block.id},
                     {"content", block.isError ? "Error: " + block.text : block.text}});
    } else if (block.type == BlockType::Text && !block.text.empty()) {
      text += (text.empty() ? "" : "\n\n") + block.text;
    }
  }
  if (!text.empty()) {
    out.push_back({{"role", "user"}, {"content", text}});
  }
}

void appendAssistantTurn(const Message& message, Json& out) {
  std::string text;
  Json toolCalls = Json::array();
  for (const auto& block : message.content) {
    if (block.type == BlockType::Text) {
      text += block.text;
    } else if (block.type == BlockType::ToolUse) {
      toolCalls.push_back({{"id", block.id},
                           {"type", "function"},
                           {"function", {{"name", block.name}, {"arguments", block.input.is_null() ? "{}" : block.input.dump()}}}});
    }
  }
  Json turn = {{"role", "assistant"}, {"content", text.empty() ? Json(nullptr) : Json(text)}};
  if (!toolCalls.empty()) {
    turn["tool_calls"] = std::move(toolCalls);
  }
  out.push_back(std::move(turn));
}

}  // namespace

Json buildChatBody(const ChatRequest& request, const ChatOptions& options) {
  Json messages = Json::array();
  std::string system;
  for (const auto& block : request.system) {
    if (!block.text.empty()) system += (system.empty() ? "" : "\n\n") + block.text;
  }
  if (!system.empty()) {
    messages.push_back({{"role", "system"}, {"content", system}});
  }
  forEachMessage(request, [&messages](const Message& message) {
    if (message.role == Role::User) {
      appendUserTurn(message, messages);
    } else {
      appendAssistantTurn(message, messages);
    }
  });
  Json body = {{"model", request.model}, {"messages", std::move(messages)}, {"stream", true}};
  body[options.maxTokensField] = request.maxTokens;
  if (options.includeUsage) {
    body["stream_options"] = {{"include_usage", true}};
  }
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& tool : request.tools) {
      tools.push_back({{"type", "function"},
                       {"function", {{"name", tool.name},
                                     {"description", tool.description},
                                     {"parameters", tool.inputSchema.is_object() ? tool.inputSchema : Json{{"type", "object"}}}}}});
    }
    body["tools"] = std::move(tools);
    body["tool_choice"] = "auto";
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (!request.stopSequences.empty()) body["stop"] = request.stopSequences;
  if (!request.userId.empty()) body["user"] = request.userId;
  return body;
}

}  // namespace mx::openai
