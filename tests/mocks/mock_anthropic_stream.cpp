#include "mock_anthropic_stream.hpp"

#include <atomic>

namespace mx::test {

namespace {

// ordered: the fields go out in the order the API sends them (type first), as the fixtures show
using Json = nlohmann::ordered_json;

std::string event(const std::string& name, const Json& data) { return "event: " + name + "\ndata: " + data.dump() + "\n\n"; }

Json delta(size_t index, Json body) { return {{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(body)}}; }

std::string messageStartWithId(const MockMessage& message, const std::string& id) {
  Json usage = {{"input_tokens", message.inputTokens}, {"cache_creation_input_tokens", 0}, {"cache_read_input_tokens", 0}, {"output_tokens", 1}};
  return event("message_start", {{"type", "message_start"},
                                 {"message", {{"id", id}, {"type", "message"}, {"role", "assistant"},
                                              {"model", message.model}, {"content", Json::array()}, {"stop_reason", nullptr},
                                              {"stop_sequence", nullptr}, {"usage", usage}}}});
}

}  // namespace

std::string nextMockMessageId() {
  static std::atomic<int> counter{0};
  return "msg_mock" + std::to_string(++counter);
}

std::string anthropicMessageStart(const MockMessage& message) { return messageStartWithId(message, nextMockMessageId()); }

MessageStartParts anthropicMessageStartParts(const MockMessage& message) {
  static const std::string kMark = "@mock-message-id@";  // no JSON escaping, not in any model name
  std::string text = messageStartWithId(message, kMark);
  size_t at = text.find(kMark);
  return {text.substr(0, at), text.substr(at + kMark.size())};
}

std::vector<std::string> anthropicStreamEvents(const MockMessage& message) {
  std::vector<std::string> out;
  out.push_back(anthropicMessageStart(message));
  size_t index = 0;
  if (!message.textDeltas.empty()) {
    out.push_back(event("content_block_start", {{"type", "content_block_start"}, {"index", index}, {"content_block", {{"type", "text"}, {"text", ""}}}}));
    out.push_back("event: ping\ndata: {\"type\": \"ping\"}\n\n");
    for (const auto& text : message.textDeltas) out.push_back(event("content_block_delta", delta(index, {{"type", "text_delta"}, {"text", text}})));
    out.push_back(event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  }
  for (const auto& tool : message.toolUses) {
    out.push_back(event("content_block_start", {{"type", "content_block_start"}, {"index", index},
                                                {"content_block", {{"type", "tool_use"}, {"id", tool.id}, {"name", tool.name}, {"input", Json::object()}}}}));
    std::string json = tool.input.dump();
    size_t half = json.size() / 2;  // split mid-token, as the API does
    for (const auto& piece : {std::string(), json.substr(0, half), json.substr(half)}) {
      out.push_back(event("content_block_delta", delta(index, {{"type", "input_json_delta"}, {"partial_json", piece}})));
    }
    out.push_back(event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  }
  out.push_back(event("message_delta", {{"type", "message_delta"},
                                        {"delta", {{"stop_reason", message.toolUses.empty() ? "end_turn" : "tool_use"}, {"stop_sequence", nullptr}}},
                                        {"usage", {{"output_tokens", message.outputTokens}}}}));
  out.push_back(event("message_stop", {{"type", "message_stop"}}));
  return out;
}

std::string anthropicStream(const MockMessage& message) {
  std::string body;
  for (const auto& e : anthropicStreamEvents(message)) body += e;
  return body;
}

std::vector<std::string> wordDeltas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t next = text.find(' ', start + 1);
    if (next == std::string::npos) next = text.size();
    out.push_back(text.substr(start, next - start));
    start = next;
  }
  return out;
}

}  // namespace mx::test
