// Test support: composes a Messages API stream (text and tool_use blocks) in
// the exact event sequence of the recorded fixtures (message_start, ping,
// content blocks with text_delta / input_json_delta, message_delta with the
// stop reason and usage, message_stop), for mocks that must answer requests
// they have not seen recorded: a scripted agent, a paced benchmark model.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mx::test {

struct MockToolUse {
  std::string id;
  std::string name;
  nlohmann::json input;
};

struct MockMessage {
  std::string model = "claude-sonnet-4-5-20250929";
  std::vector<std::string> textDeltas;   // one text block, these deltas
  std::vector<MockToolUse> toolUses;     // then one tool_use block each
  int inputTokens = 100;
  int outputTokens = 20;
};

// Each element is one complete SSE event ("event: ...\ndata: ...\n\n"), so a
// paced mock can sleep between them.
std::vector<std::string> anthropicStreamEvents(const MockMessage& message);
// Its first event alone, with a new message id each call.
std::string anthropicMessageStart(const MockMessage& message);
// The same event's text on either side of its message id, for a mock that
// answers one message many times: it only puts a new id (nextMockMessageId)
// between the two.
struct MessageStartParts {
  std::string beforeId;
  std::string afterId;
};
MessageStartParts anthropicMessageStartParts(const MockMessage& message);
// "msg_mock<n>", n counting up across the process.
std::string nextMockMessageId();
std::string anthropicStream(const MockMessage& message);

// Splits text into word-sized deltas (each keeps its leading space).
std::vector<std::string> wordDeltas(const std::string& text);

}  // namespace mx::test
