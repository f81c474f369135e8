#include "openai_stream.hpp"

#include <gtest/gtest.h>

namespace mx::openai {
namespace {

struct Recorder : ChatObserver {
  std::string text, trace;
  void onTextDelta(std::string_view t) override { text += t; }
  void onToolCallStart(int i, std::string_view id, std::string_view name) override {
    trace += "S" + std::to_string(i) + std::string(id) + std::string(name);
  }
  void onToolCallDelta(int i, std::string_view p) override { trace += "J" + std::to_string(i) + std::string(p); }
  void onComplete(const Status&, ChatResponse) override {}
};

void feed(ChatStreamAccumulator& acc, const std::string& data) { acc.onEvent(SseEvent{"message", data, ""}); }

TEST(OpenAIStream, ParallelToolCallsByIndexAndUsageChunk) {
  Recorder recorder;
  ChatStreamAccumulator acc(&recorder);
  feed(acc, R"({"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})");
  feed(acc, R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]})");
  feed(acc, R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})");
  feed(acc, R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":null}]})");
  feed(acc, R"({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Rome\"}"}}]},"finish_reason":null}]})");
  feed(acc, R"({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})");
  feed(acc, R"({"id":"c1","choices":[],"usage":{"prompt_tokens":1420,"completion_tokens":15,"total_tokens":1435,"prompt_tokens_details":{"cached_tokens":1280}}})");
  EXPECT_FALSE(acc.finished());
  feed(acc, "[DONE]");
  ASSERT_TRUE(acc.finished());
  ChatResponse r = acc.takeResponse();
  EXPECT_EQ(r.stopReason, StopReason::ToolUse);
  ASSERT_EQ(r.message.content.size(), 2u);
  EXPECT_EQ(r.message.content[0].input, Json({{"city", "Rome"}}));
  EXPECT_EQ(r.message.content[1].id, "call_b");
  EXPECT_EQ(r.message.content[1].input, Json({{"city", "Oslo"}}));
  EXPECT_EQ(r.usage.inputTokens, 140);
  EXPECT_EQ(r.usage.cacheReadTokens, 1280);
  EXPECT_EQ(r.usage.outputTokens, 15);
  EXPECT_EQ(recorder.trace, "S0call_aget_weatherJ0{\"city\":S1call_bget_weatherJ1{\"city\":\"Oslo\"}J0\"Rome\"}");
}

TEST(OpenAIStream, TextThenStop) {
  Recorder recorder;
  ChatStreamAccumulator acc(&recorder);
  feed(acc, R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
  feed(acc, R"({"choices":[{"index":0,"delta":{"content":"London"}}]})");
  feed(acc, R"({"choices":[{"index":0,"delta":{"content":" it is."},"finish_reason":"stop"}]})");
  feed(acc, "[DONE]");
  ChatResponse r = acc.takeResponse();
  EXPECT_EQ(recorder.text, "London it is.");
  EXPECT_EQ(r.stopReason, StopReason::EndTurn);
  EXPECT_EQ(r.streamedChars, 13);
}

TEST(OpenAIStream, ErrorChunkAfterA200) {
  Recorder recorder;
  ChatStreamAccumulator acc(&recorder);
  feed(acc, R"({"choices":[{"index":0,"delta":{"content":"Hi"}}]})");
  feed(acc, R"({"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}})");
  EXPECT_EQ(acc.failure().code(), Code::Unavailable);
  EXPECT_EQ(acc.failure().message(), "openai stream error: The server had an error while processing your request.");
}

TEST(OpenAIStream, ErrorCodes) {
  EXPECT_EQ(codeForError(429, Json{{"code", "insufficient_quota"}}), Code::ResourceExhausted);
  EXPECT_EQ(codeForError(401, Json{{"code", "invalid_api_key"}}), Code::Unauthenticated);
  EXPECT_EQ(codeForError(404, Json{{"code", "model_not_found"}}), Code::NotFound);
  EXPECT_EQ(codeForError(400, Json{{"code", "unsupported_parameter"}}), Code::InvalidArgument);
  EXPECT_EQ(codeForError(503, Json::object()), Code::Unavailable);
}

}  // namespace
}  // namespace mx::openai
