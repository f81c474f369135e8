#include "anthropic_request.hpp"

#include "mx/json_text.hpp"

namespace mx::anthropic {

namespace {

class BodyWriter {
 public:
  explicit BodyWriter(const ChatRequest& request) : ttl_(request.cacheTtl) {}

  std::string& out() { return out_; }

  // `name` is one of this file's literals: plain ASCII, nothing to escape
  // (escaping them was a sixth of the body's cost: ~190 keys per turn).
  void key(std::string_view name) {
    separate();
    out_.push_back('"');
    out_.append(name);
    out_.append("\":", 2);
  }
  void field(std::string_view name, std::string_view text) {
    key(name);
    appendJsonString(out_, text);
  }
  // A member whose value is one of this file's literals too (a block's type, a role).
  void literalField(std::string_view name, std::string_view literal) {
    key(name);
    out_.push_back('"');
    out_.append(literal);
    out_.push_back('"');
  }
  void rawField(std::string_view name, std::string_view json) {
    key(name);
    out_.append(json);
  }
  void jsonField(std::string_view name, const Json& value) {
    key(name);
    appendJson(out_, value);
  }
  void open(char bracket) {
    out_.push_back(bracket);
    first_ = true;
  }
  void close(char bracket) {
    out_.push_back(bracket);
    first_ = false;
  }
  // Before an element of an array (or a member of an object, via key()).
  void separate() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  void cacheControl() {
    key("cache_control");
    out_.append(ttl_ == CacheTtl::OneHour ? R"({"type":"ephemeral","ttl":"1h"})" : R"({"type":"ephemeral"})");
  }

 private:
  std::string out_;
  bool first_ = true;
  CacheTtl ttl_;
};

bool isSent(const ContentBlock& block) {
  return block.type != BlockType::Text || !block.text.empty();  // the API rejects empty text blocks
}

// {"type":"text","text":…} (a system block, a message whose content is a string).
void writeTextBlock(BodyWriter& w, std::string_view text, bool breakpoint) {
  w.separate();
  w.open('{');
  w.literalField("type", "text");
  w.field("text", text);
  if (breakpoint) w.cacheControl();
  w.close('}');
}

void writeBlock(BodyWriter& w, const ContentBlock& block, bool breakpoint) {
  w.separate();
  w.open('{');
  switch (block.type) {
    case BlockType::Text:
      w.literalField("type", "text");
      w.field("text", block.text);
      break;
    case BlockType::ToolUse:
      w.literalField("type", "tool_use");
      w.field("id", block.id);
      w.field("name", block.name);
      if (block.input.is_object()) {
        w.jsonField("input", block.input);
      } else {
        w.rawField("input", "{}");
      }
      break;
    case BlockType::ToolResult:
      w.literalField("type", "tool_result");
      w.field("tool_use_id", block.id);
      w.field("content", block.text);
      if (block.isError) w.rawField("is_error", "true");
      break;
    case BlockType::Thinking:
      w.literalField("type", "thinking");
      w.field("thinking", block.text);
      w.field("signature", block.signature);
      break;
  }
  if (breakpoint && block.type != BlockType::Thinking) w.cacheControl();
  w.close('}');
}

void writeSystem(BodyWriter& w, const ChatRequest& request) {
  const ContentBlock* last = nullptr;
  for (const auto& block : request.system) {
    if (!block.text.empty()) last = &block;
  }
  if (last == nullptr) return;
  w.key("system");
  w.open('[');
  for (const auto& block : request.system) {
    if (!block.text.empty()) writeTextBlock(w, block.text, request.cacheSystemAndTools && &block == last);
  }
  w.close(']');
}

// The "tools" array alone (no key).
void writeToolsArray(BodyWriter& w, const ChatRequest& request) {
  w.open('[');
  for (const auto& tool : request.tools) {
    w.separate();
    w.open('{');
    w.field("name", tool.name);
    w.field("description", tool.description);
    if (tool.inputSchema.is_object()) {
      w.jsonField("input_schema", tool.inputSchema);
    } else {
      w.rawField("input_schema", R"({"type":"object"})");
    }
    if (request.cacheSystemAndTools && &tool == &request.tools.back()) w.cacheControl();
    w.close('}');
  }
  w.close(']');
}

// The last user message's position in sending order (the lent conversation,
// then `messages`), or -1.
long lastUserMessage(const ChatRequest& request) {
  for (size_t i = request.messages.size(); i-- > 0;) {
    if (request.messages[i].role == Role::User) return static_cast<long>(request.conversation.size() + i);
  }
  for (size_t i = request.conversation.size(); i-- > 0;) {
    if (roleOfJson(request.conversation[i]) == Role::User) return static_cast<long>(i);
  }
  return -1;
}

// {"role":…,"content":[ … ]} around a message's blocks.
void openMessage(BodyWriter& w, Role role) {
  w.separate();
  w.open('{');
  w.literalField("role", role == Role::User ? "user" : "assistant");
  w.key("content");
  w.open('[');
}

void closeMessage(BodyWriter& w) {
  w.close(']');
  w.close('}');
}

void writeMessage(BodyWriter& w, const Message& message, bool breakpoint) {
  const ContentBlock* lastSent = nullptr;
  for (const auto& block : message.content) {
    if (isSent(block)) lastSent = &block;
  }
  if (lastSent == nullptr) return;
  openMessage(w, message.role);
  for (const auto& block : message.content) {
    if (!isSent(block)) continue;
    writeBlock(w, block, block.cacheBreakpoint || (breakpoint && &block == lastSent));
  }
  closeMessage(w);
}

// A lent message (the state's JSON shape, mx/model.hpp) is written from the
// JSON in place, as messageFromJson would read it and writeMessage write it.
enum class JsonBlock { Skipped, Text, ToolUse, ToolResult, Thinking };

const std::string& noText() { return model_detail::noText(); }

JsonBlock kindOf(const Json& block) {
  const std::string& type = stringMemberOr(block, "type", noText());
  if (type == "text") return stringMemberOr(block, "text", noText()).empty() ? JsonBlock::Skipped : JsonBlock::Text;
  if (type == "tool_use") return JsonBlock::ToolUse;
  if (type == "tool_result") return JsonBlock::ToolResult;
  if (type == "thinking") return JsonBlock::Thinking;
  return JsonBlock::Skipped;  // a type the model API is not sent
}

void writeJsonBlock(BodyWriter& w, const Json& block, JsonBlock kind, bool breakpoint) {
  w.separate();
  w.open('{');
  switch (kind) {
    case JsonBlock::Text:
      w.literalField("type", "text");
      w.field("text", stringMemberOr(block, "text", noText()));
      break;
    case JsonBlock::ToolUse: {
      w.literalField("type", "tool_use");
      w.field("id", stringMemberOr(block, "id", noText()));
      w.field("name", stringMemberOr(block, "name", noText()));
      const Json& input = memberOrNull(block, "input");
      if (input.is_object()) {
        w.jsonField("input", input);
      } else {
        w.rawField("input", "{}");
      }
      break;
    }
    case JsonBlock::ToolResult: {
      w.literalField("type", "tool_result");
      w.field("tool_use_id", stringMemberOr(block, "tool_use_id", noText()));
      const Json& content = memberOrNull(block, "content");
      if (content.is_string()) {
        w.field("content", content.get_ref<const std::string&>());
      } else {
        w.field("content", content.is_null() ? std::string() : content.dump());
      }
      const Json& isError = memberOrNull(block, "is_error");
      if (isError.is_boolean() && isError.get<bool>()) w.rawField("is_error", "true");
      break;
    }
    case JsonBlock::Thinking:
      w.literalField("type", "thinking");
      w.field("thinking", stringMemberOr(block, "thinking", noText()));
      w.field("signature", stringMemberOr(block, "signature", noText()));
      break;
    case JsonBlock::Skipped:
      break;
  }
  if (breakpoint && kind != JsonBlock::Thinking) w.cacheControl();
  w.close('}');
}

void writeJsonMessage(BodyWriter& w, const Json& message, bool breakpoint) {
  const Json& content = memberOrNull(message, "content");
  if (content.is_string()) {  // one text block
    if (content.get_ref<const std::string&>().empty()) return;
    openMessage(w, roleOfJson(message));
    writeTextBlock(w, content.get_ref<const std::string&>(), breakpoint);
    closeMessage(w);
    return;
  }
  if (!content.is_array()) return;
  size_t lastSent = content.size();
  for (size_t i = content.size(); i-- > 0;) {
    if (kindOf(content[i]) != JsonBlock::Skipped) {
      lastSent = i;
      break;
    }
  }
  if (lastSent == content.size()) return;
  openMessage(w, roleOfJson(message));
  for (size_t i = 0; i <= lastSent; ++i) {
    JsonBlock kind = kindOf(content[i]);
    if (kind != JsonBlock::Skipped) writeJsonBlock(w, content[i], kind, breakpoint && i == lastSent);
  }
  closeMessage(w);
}

void writeMessages(BodyWriter& w, const ChatRequest& request, const RequestOptions& options) {
  long breakpointMessage = request.cacheSystemAndTools && options.conversationBreakpoint == ConversationBreakpoint::LastUserMessage
                               ? lastUserMessage(request)
                               : -1;
  w.key("messages");
  w.open('[');
  size_t lent = request.conversation.size();
  for (size_t i = 0; i < lent; ++i) writeJsonMessage(w, request.conversation[i], static_cast<long>(i) == breakpointMessage);
  for (size_t i = 0; i < request.messages.size(); ++i) {
    writeMessage(w, request.messages[i], static_cast<long>(lent + i) == breakpointMessage);
  }
  w.close(']');
}

// A lent block's strings (its members' values, walked without a lookup per name).
size_t textBytes(const Json& block) {
  size_t bytes = 96;
  if (!block.is_object()) return bytes;
  for (const auto& value : block) {
    if (value.is_string()) bytes += value.get_ref<const std::string&>().size();
  }
  return bytes;
}

// About the body's size: its texts, a little for escapes and the JSON around
// them (one allocation instead of a doubling series for a long conversation).
size_t estimatedSize(const ChatRequest& request, size_t toolsBytes) {
  size_t bytes = 512 + toolsBytes;
  for (const auto& block : request.system) bytes += block.text.size() + 64;
  for (size_t i = 0; i < request.conversation.size(); ++i) {
    const Json& content = memberOrNull(request.conversation[i], "content");
    if (content.is_string()) bytes += content.get_ref<const std::string&>().size() + 96;
    if (content.is_array()) {
      for (const auto& block : content) bytes += textBytes(block);
    }
  }
  for (const auto& message : request.messages) {
    for (const auto& block : message.content) bytes += block.text.size() + block.id.size() + block.name.size() + 96;
  }
  return bytes + bytes / 8;
}

}  // namespace

std::string toolsJson(const ChatRequest& request) {
  if (request.tools.empty()) return {};
  BodyWriter w(request);
  writeToolsArray(w, request);
  return std::move(w.out());
}

std::string buildRequestBody(const ChatRequest& request, const RequestOptions& options, std::string_view toolsText) {
  std::string written;
  if (toolsText.empty() && !request.tools.empty()) toolsText = written = toolsJson(request);
  BodyWriter w(request);
  w.out().reserve(estimatedSize(request, toolsText.size()));
  w.open('{');
  w.field("model", request.model);
  w.rawField("max_tokens", std::to_string(request.maxTokens));
  w.rawField("stream", "true");
  writeSystem(w, request);
  if (!toolsText.empty()) w.rawField("tools", toolsText);
  writeMessages(w, request, options);
  if (request.temperature) w.rawField("temperature", Json(*request.temperature).dump());
  if (!request.stopSequences.empty()) {
    w.key("stop_sequences");
    w.open('[');
    for (const auto& stop : request.stopSequences) {
      w.separate();
      appendJsonString(w.out(), stop);
    }
    w.close(']');
  }
  if (request.thinkingBudgetTokens) {
    w.rawField("thinking", R"({"type":"enabled","budget_tokens":)" + std::to_string(*request.thinkingBudgetTokens) + "}");
  }
  if (!request.userId.empty()) {
    w.key("metadata");
    w.open('{');
    w.field("user_id", request.userId);
    w.close('}');
  }
  w.close('}');
  // Kept for the whole call (and its retries): no more than an eighth of slack.
  if (w.out().capacity() > w.out().size() + w.out().size() / 8) w.out().shrink_to_fit();
  return std::move(w.out());
}

}  // namespace mx::anthropic
