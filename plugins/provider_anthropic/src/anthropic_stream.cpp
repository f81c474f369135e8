#include "anthropic_stream.hpp"
#include "mx/json_parse.hpp"

#include <algorithm>

namespace mx::anthropic {

Code codeForErrorType(const std::string& type) {
  if (type == "invalid_request_error" || type == "request_too_large") return Code::InvalidArgument;
  if (type == "authentication_error") return Code::Unauthenticated;
  if (type == "permission_error") return Code::PermissionDenied;
  if (type == "not_found_error") return Code::NotFound;
  if (type == "rate_limit_error") return Code::ResourceExhausted;
  if (type == "overloaded_error" || type == "api_error") return Code::Unavailable;
  if (type == "timeout_error") return Code::DeadlineExceeded;
  return Code::Unavailable;
}

namespace {

StopReason stopReasonFrom(std::string_view text) {
  if (text == "end_turn") return StopReason::EndTurn;
  if (text == "max_tokens") return StopReason::MaxTokens;
  if (text == "stop_sequence") return StopReason::StopSequence;
  if (text == "tool_use") return StopReason::ToolUse;
  if (text == "refusal") return StopReason::Refusal;
  if (text == "pause_turn") return StopReason::PauseTurn;
  return StopReason::Other;
}

int64_t count(const Json& usage, const char* field, int64_t fallback) {
  auto it = usage.find(field);
  return it != usage.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

// At most nine decimal digits, already checked, as a number (no string made, no strtol: once per delta).
int digitsValue(std::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

// {"type":"content_block_delta","index":N,"delta":{"type":"<kind>","<field>":"..."}}
// in exactly the API's layout, `afterIndex` being `,"delta":{"type":"<kind>","<field>":"`
// (one comparison, not one per piece); `text` gets the string unescaped.
bool parseDelta(std::string_view data, std::string_view afterIndex, int& index, std::string& text) {
  static constexpr std::string_view kHead = "{\"type\":\"content_block_delta\",\"index\":";
  if (data.substr(0, kHead.size()) != kHead) return false;
  size_t at = kHead.size();
  size_t digits = at;
  while (at < data.size() && at - digits < 9 && data[at] >= '0' && data[at] <= '9') ++at;
  if (at == digits) return false;
  int parsed = digitsValue(data.substr(digits, at - digits));
  if (data.substr(at, afterIndex.size()) != afterIndex) return false;
  at += afterIndex.size();
  if (!readJsonString(data, at, text)) return false;
  index = parsed;
  return data.substr(at) == "}}";
}

// The event's JSON up to its last brace, without the padding the API may put
// before that brace ({"type":"message_stop"      }); empty when it does not end in one.
std::string_view beforeLastBrace(std::string_view data) {
  if (data.empty() || data.back() != '}') return {};
  data.remove_suffix(1);
  while (!data.empty() && data.back() == ' ') data.remove_suffix(1);
  return data;
}

// `data` at `at` starts with `literal`: then steps over it.
bool skip(std::string_view data, size_t& at, std::string_view literal) {
  if (data.substr(at, literal.size()) != literal) return false;
  at += literal.size();
  return true;
}

// One to nine decimal digits at `at`, stepped over.
bool readDigits(std::string_view data, size_t& at, int& value) {
  size_t first = at;
  while (at < data.size() && at - first < 9 && data[at] >= '0' && data[at] <= '9') ++at;
  if (at == first || (at < data.size() && data[at] >= '0' && data[at] <= '9')) return false;
  value = digitsValue(data.substr(first, at - first));
  return true;
}

// {"type":"content_block_start","index":N,"content_block": — the block follows.
bool readBlockStartHead(std::string_view body, size_t& at, int& index) {
  return skip(body, at, "{\"type\":\"content_block_start\",\"index\":") && readDigits(body, at, index) &&
         skip(body, at, ",\"content_block\":");
}

}  // namespace

bool parseTextBlockStart(std::string_view data, int& index) {
  std::string_view body = beforeLastBrace(data);
  size_t at = 0;
  int parsed = 0;
  if (!readBlockStartHead(body, at, parsed) || !skip(body, at, "{\"type\":\"text\",\"text\":\"\"}") || at != body.size()) {
    return false;
  }
  index = parsed;
  return true;
}

bool parseToolUseBlockStart(std::string_view data, int& index, std::string& id, std::string& name) {
  std::string_view body = beforeLastBrace(data);
  size_t at = 0;
  int parsed = 0;
  std::string readId, readName;
  if (!readBlockStartHead(body, at, parsed) || !skip(body, at, "{\"type\":\"tool_use\",\"id\":\"") || !readJsonString(body, at, readId) ||
      !skip(body, at, ",\"name\":\"") || !readJsonString(body, at, readName) || !skip(body, at, ",\"input\":{}}") ||
      at != body.size()) {
    return false;
  }
  index = parsed;
  id = std::move(readId);
  name = std::move(readName);
  return true;
}

bool parseMessageDelta(std::string_view data, std::string_view& stopReason, int& outputTokens) {
  std::string_view body = beforeLastBrace(data);
  size_t at = 0;
  if (!skip(body, at, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"")) return false;
  size_t word = at;
  while (at < body.size() && ((body[at] >= 'a' && body[at] <= 'z') || body[at] == '_')) ++at;
  std::string_view reason = body.substr(word, at - word);
  int tokens = 0;
  if (reason.empty() || !skip(body, at, "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":") ||
      !readDigits(body, at, tokens) || !skip(body, at, "}") || at != body.size()) {
    return false;
  }
  stopReason = reason;
  outputTokens = tokens;
  return true;
}

bool parseMessageStart(std::string_view data, std::string& id, std::string& model, std::string_view& usage) {
  std::string_view body = beforeLastBrace(data);
  size_t at = 0;
  std::string readId, readModel;
  if (!skip(body, at, "{\"type\":\"message_start\",\"message\":{\"id\":\"") || !readJsonString(body, at, readId) ||
      !skip(body, at, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"") || !readJsonString(body, at, readModel) ||
      !skip(body, at, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{") || body.back() != '}') {
    return false;
  }
  usage = body.substr(at - 1, body.size() - at);  // from its brace to the one before the message's
  id = std::move(readId);
  model = std::move(readModel);
  return true;
}

bool isMessageStop(std::string_view data) { return beforeLastBrace(data) == "{\"type\":\"message_stop\""; }

bool parseTextDelta(std::string_view data, int& index, std::string& text) {
  return parseDelta(data, ",\"delta\":{\"type\":\"text_delta\",\"text\":\"", index, text);
}

bool parseToolInputDelta(std::string_view data, int& index, std::string& partialJson) {
  return parseDelta(data, ",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"", index, partialJson);
}

bool parseBlockStop(std::string_view data, int& index) {
  static constexpr std::string_view kHead = "{\"type\":\"content_block_stop\",\"index\":";
  if (data.substr(0, kHead.size()) != kHead || data.size() < kHead.size() + 2 || data.back() != '}') return false;
  std::string_view digits = data.substr(kHead.size(), data.size() - kHead.size() - 1);
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  index = digitsValue(digits);
  return true;
}

void StreamAccumulator::onEvent(const SseEvent& event) {
  if (finished_ || !failure_.isOk()) {
    return;
  }
  try {
    dispatch(event);
  } catch (const std::exception& e) {  // a field of an unexpected JSON type
    failure_ = unavailableError("malformed stream event \"" + std::string(event.event) + "\": " + e.what());
  }
}

void StreamAccumulator::dispatch(const SseEvent& event) {
  if (event.event == "ping") {
    return;
  }
  if (event.event == "content_block_delta" && parseTextDelta(event.data, fastIndex_, fastText_)) {
    onTextDelta(fastIndex_, fastText_);
    return;
  }
  if (event.event == "content_block_delta" && parseToolInputDelta(event.data, fastIndex_, fastText_)) {
    onToolInputDelta(fastIndex_, fastText_);
    return;
  }
  if (event.event == "content_block_stop" && parseBlockStop(event.data, fastIndex_)) {
    onBlockStop(fastIndex_);
    return;
  }
  if (event.event == "message_start") {
    std::string id, model;
    std::string_view usageText;
    if (parseMessageStart(event.data, id, model, usageText)) {
      Json usage = parseJson(usageText);  // only the usage, whose members vary, as a tree
      if (usage.is_object()) return startMessage(std::move(id), std::move(model), usage);
    }
  }
  if (event.event == "content_block_start") {
    if (parseTextBlockStart(event.data, fastIndex_)) {
      blocks_[fastIndex_] = BlockBuilder();  // a text block, empty so far
      return;
    }
    std::string id, name;
    if (parseToolUseBlockStart(event.data, fastIndex_, id, name)) return startToolCall(fastIndex_, std::move(id), std::move(name));
  }
  if (event.event == "message_delta") {
    std::string_view reason;
    int outputTokens = 0;
    if (parseMessageDelta(event.data, reason, outputTokens)) {
      response_.stopReason = stopReasonFrom(reason);
      response_.usage.outputTokens = outputTokens;
      return;
    }
  }
  if (event.event == "message_stop" && isMessageStop(event.data)) {
    finished_ = true;
    return;
  }
  Json data = parseJson(event.data);
  if (data.is_discarded() || !data.is_object()) {
    failure_ = unavailableError("malformed stream event \"" + std::string(event.event) + "\": not a JSON object");
    return;
  }
  std::string type = event.event != "message" ? std::string(event.event) : data.value("type", "");
  if (type == "message_start") {
    onMessageStart(data);
  } else if (type == "content_block_start") {
    onBlockStart(data);
  } else if (type == "content_block_delta") {
    onBlockDelta(data);
  } else if (type == "content_block_stop") {
    onBlockStop(data.value("index", -1));
  } else if (type == "message_delta") {
    onMessageDelta(data);
  } else if (type == "message_stop") {
    finished_ = true;
  } else if (type == "error") {
    onError(data);
  }
  // Anything else is a newer event type: ignored, as the API's versioning policy asks.
}

void StreamAccumulator::onMessageStart(const Json& data) {
  const Json& message = objectMember(data, "message");
  startMessage(message.value("id", ""), message.value("model", ""), memberOrNull(message, "usage"));
}

void StreamAccumulator::startMessage(std::string id, std::string model, const Json& usage) {
  response_.id = std::move(id);
  response_.model = std::move(model);
  response_.message.role = Role::Assistant;
  applyUsage(usage);  // not an object (absent): nothing
}

void StreamAccumulator::startToolCall(int index, std::string id, std::string name) {
  BlockBuilder call;
  call.type = BlockType::ToolUse;
  call.id = std::move(id);
  call.name = std::move(name);
  observer_->onToolCallStart(index, call.id, call.name);
  emitted_ = true;
  blocks_[index] = std::move(call);
}

void StreamAccumulator::onBlockStart(const Json& data) {
  int index = data.value("index", -1);
  const Json& block = objectMember(data, "content_block");
  std::string type = block.value("type", "");
  if (type == "tool_use") return startToolCall(index, block.value("id", ""), block.value("name", ""));
  BlockBuilder builder;
  if (type == "text") {
    builder.type = BlockType::Text;
    builder.text = block.value("text", "");
  } else if (type == "thinking") {
    builder.type = BlockType::Thinking;
    builder.text = block.value("thinking", "");
    builder.signature = block.value("signature", "");
  } else {
    builder.known = false;  // redacted_thinking, server tools, ...: not ours to interpret
  }
  blocks_[index] = std::move(builder);
}

void StreamAccumulator::onBlockDelta(const Json& data) {
  auto it = blocks_.find(data.value("index", -1));
  if (it == blocks_.end() || !it->second.known || !data.contains("delta")) {
    return;
  }
  BlockBuilder& block = it->second;
  const Json& delta = data["delta"];
  std::string type = delta.value("type", "");
  if (type == "text_delta") {
    onTextDelta(it->first, delta["text"].get_ref<const std::string&>());
  } else if (type == "input_json_delta") {
    onToolInputDelta(it->first, delta["partial_json"].get_ref<const std::string&>());
  } else if (type == "thinking_delta") {
    const auto& thinking = delta["thinking"].get_ref<const std::string&>();
    block.text += thinking;
    observer_->onThinkingDelta(thinking);
    emitted_ = true;
  } else if (type == "signature_delta") {
    block.signature += delta.value("signature", "");
  }
}

void StreamAccumulator::onToolInputDelta(int index, const std::string& partialJson) {
  auto it = blocks_.find(index);
  if (it == blocks_.end() || !it->second.known) return;
  it->second.partialJson += partialJson;
  if (!partialJson.empty()) observer_->onToolCallDelta(index, partialJson);
}

void StreamAccumulator::onBlockStop(int index) {
  auto it = blocks_.find(index);
  if (it != blocks_.end()) it->second.closed = true;
}

void StreamAccumulator::onTextDelta(int index, const std::string& text) {
  auto it = blocks_.find(index);
  if (it == blocks_.end() || !it->second.known) return;
  it->second.text += text;
  response_.streamedChars += static_cast<int64_t>(text.size());
  observer_->onTextDelta(text);
  emitted_ = true;
}

void StreamAccumulator::onMessageDelta(const Json& data) {
  if (data.contains("delta")) {
    const Json& delta = data["delta"];
    if (delta.contains("stop_reason") && delta["stop_reason"].is_string()) {
      response_.stopReason = stopReasonFrom(delta["stop_reason"].get_ref<const std::string&>());
    }
    if (delta.contains("stop_sequence") && delta["stop_sequence"].is_string()) {
      response_.stopSequence = delta["stop_sequence"];
    }
  }
  if (data.contains("usage")) {
    applyUsage(data["usage"]);
  }
}

void StreamAccumulator::onError(const Json& data) {
  const Json& error = objectMember(data, "error");
  std::string type = error.value("type", "error");
  std::string message = error.value("message", "");
  std::string requestId = data.value("request_id", "");
  failure_ = Status(codeForErrorType(type), "anthropic stream error " + type + ": " + message +
                                                (requestId.empty() ? "" : " (request-id " + requestId + ")"));
}

// message_delta usage is cumulative: the last value of each field wins.
void StreamAccumulator::applyUsage(const Json& usage) {
  if (!usage.is_object()) return;
  Usage& u = response_.usage;
  u.inputTokens = count(usage, "input_tokens", u.inputTokens);
  u.outputTokens = count(usage, "output_tokens", u.outputTokens);
  u.cacheReadTokens = count(usage, "cache_read_input_tokens", u.cacheReadTokens);
  if (usage.contains("cache_creation") && usage["cache_creation"].is_object()) {
    u.cacheWrite5mTokens = count(usage["cache_creation"], "ephemeral_5m_input_tokens", u.cacheWrite5mTokens);
    u.cacheWrite1hTokens = count(usage["cache_creation"], "ephemeral_1h_input_tokens", u.cacheWrite1hTokens);
  } else if (usage.contains("cache_creation_input_tokens")) {
    // Older responses give only the total: it was written with the TTL we asked for.
    int64_t total = count(usage, "cache_creation_input_tokens", 0);
    if (requestedTtl_ == CacheTtl::OneHour) {
      u.cacheWrite1hTokens = total;
      u.cacheWrite5mTokens = 0;
    } else {
      u.cacheWrite5mTokens = total;
      u.cacheWrite1hTokens = 0;
    }
  }
}

ContentBlock StreamAccumulator::finishBlock(BlockBuilder&& builder) const {
  ContentBlock block;
  block.type = builder.type;
  block.text = std::move(builder.text);
  block.id = std::move(builder.id);
  block.name = std::move(builder.name);
  block.signature = std::move(builder.signature);
  if (builder.type == BlockType::ToolUse) {
    Json input = builder.partialJson.empty() ? Json::object() : parseJson(builder.partialJson);
    // Cut by max_tokens mid-call: the arguments never completed. Keep them as
    // text so the caller can see what arrived; the stop reason says why.
    block.input = input.is_object() ? std::move(input) : Json{{"_incomplete_json", std::move(builder.partialJson)}};
  }
  return block;
}

ChatResponse StreamAccumulator::takeResponse() {
  response_.message.role = Role::Assistant;
  response_.message.content.clear();
  for (auto& [index, builder] : blocks_) {
    if (!builder.known || (builder.type == BlockType::Text && builder.text.empty())) {
      continue;
    }
    response_.message.content.push_back(finishBlock(std::move(builder)));
  }
  blocks_.clear();  // their text moved into the response: not held twice while it is used
  return std::move(response_);
}

}  // namespace mx::anthropic
