#include "anthropic_stream.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mx::anthropic {
namespace {

struct RecordingObserver : ChatObserver {
  std::string text;
  std::string thinking;
  std::vector<std::string> toolStarts;
  std::string toolJson;
  void onTextDelta(std::string_view t) override { text += t; }
  void onThinkingDelta(std::string_view t) override { thinking += t; }
  void onToolCallStart(int index, std::string_view id, std::string_view name) override {
    toolStarts.push_back(std::to_string(index) + ":" + std::string(id) + ":" + std::string(name));
  }
  void onToolCallDelta(int, std::string_view partial) override { toolJson += partial; }
  void onComplete(const Status&, ChatResponse) override {}
};

void feed(StreamAccumulator& acc, const std::string& event, const std::string& data) {
  acc.onEvent(SseEvent{event, data, ""});
}

TEST(AnthropicStream, AccumulatesTextToolUseAndUsage) {
  RecordingObserver observer;
  StreamAccumulator acc(&observer, CacheTtl::FiveMinutes);
  feed(acc, "message_start", R"({"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":377,"cache_creation_input_tokens":100,"cache_read_input_tokens":20,"output_tokens":1}}}   )");
  feed(acc, "content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  feed(acc, "ping", R"({"type": "ping"})");
  feed(acc, "content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll check"}}        )");
  feed(acc, "content_block_stop", R"({"type":"content_block_stop","index":0})");
  feed(acc, "content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}})");
  for (const char* part : {"", "{\\\"locati", "on\\\": \\\"P", "ar", "is\\\"}"}) {
    feed(acc, "content_block_delta",
         std::string(R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":")") + part + "\"}}");
  }
  feed(acc, "content_block_stop", R"({"type":"content_block_stop","index":1})");
  feed(acc, "future_event", R"({"type":"future_event","whatever":1})");
  feed(acc, "message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}})");
  EXPECT_FALSE(acc.finished());
  feed(acc, "message_stop", R"({"type":"message_stop"              })");
  ASSERT_TRUE(acc.finished());
  EXPECT_TRUE(acc.failure().isOk());
  EXPECT_EQ(observer.text, "I'll check");
  EXPECT_EQ(observer.toolStarts, std::vector<std::string>{"1:toolu_1:get_weather"});
  EXPECT_EQ(observer.toolJson, "{\"location\": \"Paris\"}");
  ChatResponse response = acc.takeResponse();
  EXPECT_EQ(response.id, "msg_1");
  EXPECT_EQ(response.stopReason, StopReason::ToolUse);
  ASSERT_EQ(response.message.content.size(), 2u);
  EXPECT_EQ(response.message.content[1].input, Json({{"location", "Paris"}}));
  EXPECT_EQ(response.usage.inputTokens, 377);
  EXPECT_EQ(response.usage.outputTokens, 65);
  EXPECT_EQ(response.usage.cacheWrite5mTokens, 100);
  EXPECT_EQ(response.usage.cacheReadTokens, 20);
  EXPECT_EQ(response.streamedChars, 10);
}

TEST(AnthropicStream, CacheCreationSplitAndRequestedTtl) {
  RecordingObserver observer;
  StreamAccumulator split(&observer, CacheTtl::FiveMinutes);
  feed(split, "message_start", R"({"type":"message_start","message":{"usage":{"input_tokens":17,"cache_creation_input_tokens":2056,"cache_creation":{"ephemeral_5m_input_tokens":56,"ephemeral_1h_input_tokens":2000},"output_tokens":1}}})");
  EXPECT_EQ(split.response().usage.cacheWrite5mTokens, 56);
  EXPECT_EQ(split.response().usage.cacheWrite1hTokens, 2000);
  StreamAccumulator oneHour(&observer, CacheTtl::OneHour);
  feed(oneHour, "message_start", R"({"type":"message_start","message":{"usage":{"input_tokens":17,"cache_creation_input_tokens":900,"output_tokens":1}}})");
  EXPECT_EQ(oneHour.response().usage.cacheWrite1hTokens, 900);
  EXPECT_EQ(oneHour.response().usage.cacheWrite5mTokens, 0);
}

TEST(AnthropicStream, ErrorEventAfterA200IsAFailureWithItsCode) {
  RecordingObserver observer;
  StreamAccumulator acc(&observer, CacheTtl::FiveMinutes);
  feed(acc, "message_start", R"({"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}})");
  feed(acc, "error", R"({"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"} )");
  EXPECT_FALSE(acc.finished());
  EXPECT_EQ(acc.failure().code(), Code::Unavailable);
  EXPECT_EQ(acc.failure().message(), "anthropic stream error overloaded_error: Overloaded (request-id req_1)");
  EXPECT_FALSE(acc.emittedDeltas());
}

TEST(AnthropicStream, MalformedEventsFailInsteadOfThrowing) {
  RecordingObserver observer;
  StreamAccumulator notJson(&observer, CacheTtl::FiveMinutes);
  feed(notJson, "content_block_delta", "{not json");
  EXPECT_EQ(notJson.failure().code(), Code::Unavailable);
  StreamAccumulator wrongType(&observer, CacheTtl::FiveMinutes);
  feed(wrongType, "content_block_start", R"({"index":0,"content_block":{"type":"text","text":""}})");
  feed(wrongType, "content_block_delta", R"({"index":0,"delta":{"type":"text_delta","text":42}})");
  EXPECT_EQ(wrongType.failure().code(), Code::Unavailable);
}

TEST(AnthropicStream, ThinkingAndSignature) {
  RecordingObserver observer;
  StreamAccumulator acc(&observer, CacheTtl::FiveMinutes);
  feed(acc, "content_block_start", R"({"index":0,"content_block":{"type":"thinking","thinking":"","signature":""}})");
  feed(acc, "content_block_delta", R"({"index":0,"delta":{"type":"thinking_delta","thinking":"Let me"}})");
  feed(acc, "content_block_delta", R"({"index":0,"delta":{"type":"signature_delta","signature":"EvMC"}})");
  feed(acc, "content_block_stop", R"({"index":0})");
  feed(acc, "message_stop", R"({})");
  ChatResponse response = acc.takeResponse();
  ASSERT_EQ(response.message.content.size(), 1u);
  EXPECT_EQ(response.message.content[0].type, BlockType::Thinking);
  EXPECT_EQ(response.message.content[0].text, "Let me");
  EXPECT_EQ(response.message.content[0].signature, "EvMC");
  EXPECT_EQ(observer.thinking, "Let me");
}

TEST(AnthropicStream, ToolInputCutByMaxTokensIsKeptAsIncomplete) {
  RecordingObserver observer;
  StreamAccumulator acc(&observer, CacheTtl::FiveMinutes);
  feed(acc, "content_block_start", R"({"index":0,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}})");
  feed(acc, "content_block_delta", R"({"index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\": \"unfinis"}})");
  feed(acc, "message_delta", R"({"delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}})");
  feed(acc, "message_stop", R"({})");
  ChatResponse response = acc.takeResponse();
  EXPECT_EQ(response.stopReason, StopReason::MaxTokens);
  EXPECT_EQ(response.message.content[0].input["_incomplete_json"], "{\"a\": \"unfinis");
}

TEST(AnthropicStream, ErrorTypesMapToCanonicalCodes) {
  EXPECT_EQ(codeForErrorType("rate_limit_error"), Code::ResourceExhausted);
  EXPECT_EQ(codeForErrorType("authentication_error"), Code::Unauthenticated);
  EXPECT_EQ(codeForErrorType("invalid_request_error"), Code::InvalidArgument);
  EXPECT_EQ(codeForErrorType("not_found_error"), Code::NotFound);
  EXPECT_EQ(codeForErrorType("api_error"), Code::Unavailable);
}

}  // namespace
}  // namespace mx::anthropic

namespace mx::anthropic {
namespace {

TEST(TextDeltaFastPath, ReadsTheApisLayoutWithEveryEscape) {
  int index = -1;
  std::string text;
  ASSERT_TRUE(parseTextDelta(R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})", index, text));
  EXPECT_EQ(index, 0);
  EXPECT_EQ(text, "Hello");
  ASSERT_TRUE(parseTextDelta(
      R"({"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":"a\"b\\c\/d\b\f\n\r\t \u00e9\u20ac\ud83d\ude00 é"}})",
      index, text));
  EXPECT_EQ(index, 12);
  EXPECT_EQ(text, "a\"b\\c/d\b\f\n\r\t \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 \xC3\xA9");
  // The same text through the general parser gives the same string.
  Json parsed = Json::parse(R"({"t":"a\"b\\c\/d\b\f\n\r\t \u00e9\u20ac\ud83d\ude00 é"})");
  EXPECT_EQ(parsed["t"], text);
  ASSERT_TRUE(parseTextDelta(R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":""}})", index, text));
  EXPECT_EQ(text, "");
}

TEST(TextDeltaFastPath, AnythingElseGoesToTheGeneralParser) {
  int index = -1;
  std::string text;
  for (const char* other : {
           R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}})",
           R"({"type":"content_block_delta", "index":0,"delta":{"type":"text_delta","text":"spaced"}})",
           R"({"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"reordered"}})",
           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"unterminated}})",
           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bad \x escape"}})",
           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lone \udc00"}})",
           R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}})",
           R"({"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"x"}})"}) {
    EXPECT_FALSE(parseTextDelta(other, index, text)) << other;
  }
}

TEST(TextDeltaFastPath, TheAccumulatorGivesTheSameResultEitherWay) {
  struct Collect final : ChatObserver {
    std::string text;
    void onTextDelta(std::string_view t) override { text.append(t); }
    void onComplete(const Status&, ChatResponse) override {}
  };
  auto run = [](const std::string& deltaData) {
    Collect observer;
    StreamAccumulator accumulator(&observer, CacheTtl::FiveMinutes);
    accumulator.onEvent({"message_start", R"({"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":1}}})", ""});
    accumulator.onEvent({"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})", ""});
    accumulator.onEvent({"content_block_delta", deltaData, ""});
    accumulator.onEvent({"content_block_stop", R"({"type":"content_block_stop","index":0})", ""});
    return std::make_pair(observer.text, accumulator.takeResponse().message.content.at(0).text);
  };
  auto fast = run(R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\u00e9 \"x\""}})");
  auto general = run(R"({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "caf\u00e9 \"x\""}})");
  EXPECT_EQ(fast, general);
  EXPECT_EQ(fast.first, "caf\xC3\xA9 \"x\"");
}

TEST(ToolInputFastPath, ReadsArgumentPiecesAndBlockStops) {
  int index = -1;
  std::string text;
  ASSERT_TRUE(parseToolInputDelta(R"({"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"locati"}})",
                                  index, text));
  EXPECT_EQ(index, 3);
  EXPECT_EQ(text, "{\"locati");
  ASSERT_TRUE(parseToolInputDelta(R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})", index, text));
  EXPECT_EQ(index, 1);
  EXPECT_EQ(text, "");
  for (const char* other : {R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}})",
                            R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"x"}       })",
                            R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"x","more":1}})"}) {
    EXPECT_FALSE(parseToolInputDelta(other, index, text)) << other;
  }
  ASSERT_TRUE(parseBlockStop(R"({"type":"content_block_stop","index":12})", index));
  EXPECT_EQ(index, 12);
  for (const char* other : {R"({"type":"content_block_stop","index":})", R"({"type":"content_block_stop","index":1 })",
                            R"({"type":"content_block_stop","index":-1})", R"({"type":"content_block_stop","index":1,"x":2})",
                            R"({"type":"content_block_stop", "index":1})"}) {
    EXPECT_FALSE(parseBlockStop(other, index)) << other;
  }
}

TEST(ToolInputFastPath, TheAccumulatorGivesTheSameToolCallEitherWay) {
  struct Collect final : ChatObserver {
    std::string pieces;
    void onToolCallDelta(int index, std::string_view partial) override { pieces.append(std::to_string(index)).append(":").append(partial).append("|"); }
    void onComplete(const Status&, ChatResponse) override {}
  };
  auto run = [](bool spaced) {
    auto layout = [spaced](std::string compact) {
      if (!spaced) return compact;
      std::string out;
      for (char c : compact) out += c == ',' ? std::string(", ") : std::string(1, c);  // no ',' inside these strings
      return out;
    };
    Collect observer;
    StreamAccumulator accumulator(&observer, CacheTtl::FiveMinutes);
    accumulator.onEvent({"message_start", R"({"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":1}}})", ""});
    accumulator.onEvent({"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}})", ""});
    for (const char* piece : {"", "{\\\"city\\\": \\\"Par", "is\\\"}"}) {
      accumulator.onEvent({"content_block_delta", layout(std::string(R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":")") + piece + "\"}}"), ""});
    }
    accumulator.onEvent({"content_block_stop", layout(R"({"type":"content_block_stop","index":0})"), ""});
    accumulator.onEvent({"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}})", ""});
    accumulator.onEvent({"message_stop", R"({"type":"message_stop"})", ""});
    auto response = accumulator.takeResponse();
    return std::make_pair(observer.pieces, response.message.content.at(0).input.dump());
  };
  auto fast = run(false);
  EXPECT_EQ(fast, run(true));
  EXPECT_EQ(fast.first, "0:{\"city\": \"Par|0:is\"}|");
  EXPECT_EQ(fast.second, R"({"city":"Paris"})");
}

TEST(CallEventFastPaths, ReadTheApisLayoutWithOrWithoutPadding) {
  int index = -1;
  ASSERT_TRUE(parseTextBlockStart(R"({"type":"content_block_start","index":3,"content_block":{"type":"text","text":""}})", index));
  EXPECT_EQ(index, 3);
  ASSERT_TRUE(parseTextBlockStart(R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}          })", index));
  EXPECT_EQ(index, 0);
  std::string_view reason;
  int tokens = -1;
  ASSERT_TRUE(parseMessageDelta(R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}})",
                                reason, tokens));
  EXPECT_EQ(reason, "tool_use");
  EXPECT_EQ(tokens, 65);
  ASSERT_TRUE(parseMessageDelta(R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":100}    })",
                                reason, tokens));
  EXPECT_EQ(reason, "max_tokens");
  EXPECT_EQ(tokens, 100);
  EXPECT_TRUE(isMessageStop(R"({"type":"message_stop"})"));
  EXPECT_TRUE(isMessageStop(R"({"type":"message_stop"       })"));
  std::string callId, callName;
  ASSERT_TRUE(parseToolUseBlockStart(
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}      })",
      index, callId, callName));
  EXPECT_EQ(index, 1);
  EXPECT_EQ(callId, "toolu_01");
  EXPECT_EQ(callName, "get_weather");
  for (const char* other : {
           R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","caller":{"type":"direct"},"input":{}}})",
           R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input":{"a":1}}})",
           R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","name":"n","id":"t","input":{}}})",
           R"({"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"t","name":"n","input":{}}})"}) {
    EXPECT_FALSE(parseToolUseBlockStart(other, index, callId, callName)) << other;
  }
  EXPECT_EQ(callId, "toolu_01") << "nothing is written when it does not match";
  std::string id, model;
  std::string_view usage;
  ASSERT_TRUE(parseMessageStart(
      R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":377,"cache_creation":{"ephemeral_5m_input_tokens":0},"output_tokens":1}}   })",
      id, model, usage));
  EXPECT_EQ(id, "msg_1");
  EXPECT_EQ(model, "claude-sonnet-4-5");
  EXPECT_EQ(usage, R"({"input_tokens":377,"cache_creation":{"ephemeral_5m_input_tokens":0},"output_tokens":1})");
}

TEST(CallEventFastPaths, AnythingElseGoesToTheGeneralParser) {
  int index = -1;
  for (const char* other : {R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}})",
                            R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":"","citations":[]}})",
                            R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}})",
                            R"({"type":"content_block_start","index":,"content_block":{"type":"text","text":""}})",
                            R"({"type":"content_block_start","index":1234567890,"content_block":{"type":"text","text":""}})",
                            R"({"type":"content_block_start", "index":0,"content_block":{"type":"text","text":""}})",
                            R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}x)",
                            R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""})"}) {
    EXPECT_FALSE(parseTextBlockStart(other, index)) << other;
  }
  std::string_view reason;
  int tokens = -1;
  for (const char* other : {
           R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":43,"output_tokens":282}})",
           R"({"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"output_tokens":5}})",
           R"({"type":"message_delta","delta":{"stop_reason":null,"stop_sequence":null},"usage":{"output_tokens":5}})",
           R"({"type":"message_delta","delta":{"stop_reason":"","stop_sequence":null},"usage":{"output_tokens":5}})",
           R"({"type":"message_delta","delta":{"stop_reason":"End","stop_sequence":null},"usage":{"output_tokens":5}})",
           R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12345678901}})",
           R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":-5}})",
           R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5},"x":1})",
           R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}})"}) {
    EXPECT_FALSE(parseMessageDelta(other, reason, tokens)) << other;
  }
  for (const char* other : {R"({"type":"message_stop","x":1})", R"({"type": "message_stop"})", R"({"type":"message_stop")", ""}) {
    EXPECT_FALSE(isMessageStop(other)) << other;
  }
  std::string id = "kept", model = "kept";
  std::string_view usage;
  for (const char* other : {
           R"({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null}})",
           R"({"type":"message_start","message":{"type":"message","id":"m","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}})",
           R"({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[{"type":"text"}],"stop_reason":null,"stop_sequence":null,"usage":{}}})",
           R"({"type":"message_start","message":{"id":"m\q","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}})",
           R"({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{})"}) {
    EXPECT_FALSE(parseMessageStart(other, id, model, usage)) << other;
  }
  EXPECT_EQ(id, "kept") << "nothing is written when it does not match";
  // A member after the usage matches the layout but leaves a usage text that is not one value: the
  // accumulator then takes the general parser.
  struct Quiet final : ChatObserver {
    void onComplete(const Status&, ChatResponse) override {}
  } observer;
  StreamAccumulator accumulator(&observer, CacheTtl::FiveMinutes);
  accumulator.onEvent({"message_start",
                       R"({"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":7},"container":null}})",
                       ""});
  EXPECT_TRUE(accumulator.failure().isOk());
  EXPECT_EQ(accumulator.response().id, "m");
  EXPECT_EQ(accumulator.response().usage.inputTokens, 7);
}

// Every recorded stream, read with the fast paths and again laid out so that
// only the general parser reads it: the same deltas and the same response.
TEST(CallEventFastPaths, EveryFixtureGivesTheSameResultEitherWay) {
  struct Record final : ChatObserver {
    std::string log;
    void onTextDelta(std::string_view t) override { log.append("t:").append(t).append("|"); }
    void onThinkingDelta(std::string_view t) override { log.append("k:").append(t).append("|"); }
    void onToolCallStart(int index, std::string_view id, std::string_view name) override {
      log.append("s:").append(std::to_string(index)).append(id).append(name).append("|");
    }
    void onToolCallDelta(int index, std::string_view partial) override { log.append("j:").append(std::to_string(index)).append(partial).append("|"); }
    void onComplete(const Status&, ChatResponse) override {}
  };
  auto replay = [](const std::vector<std::pair<std::string, std::string>>& events, bool general) {
    Record observer;
    StreamAccumulator accumulator(&observer, CacheTtl::FiveMinutes);
    for (const auto& [event, data] : events) {
      Json parsed = Json::parse(data, nullptr, false);
      accumulator.onEvent({event, general && !parsed.is_discarded() ? parsed.dump(1) : data, ""});
    }
    ChatResponse response = accumulator.takeResponse();
    const Usage& u = response.usage;
    return observer.log + "\n" + std::to_string(accumulator.finished()) + std::string(codeName(accumulator.failure().code())) + "\n" +
           response.id + response.model + std::to_string(static_cast<int>(response.stopReason)) + response.stopSequence + "\n" +
           std::to_string(u.inputTokens) + "," + std::to_string(u.outputTokens) + "," + std::to_string(u.cacheReadTokens) + "," +
           std::to_string(u.cacheWrite5mTokens) + "," + std::to_string(u.cacheWrite1hTokens) + "\n" + toJson(response.message).dump();
  };
  int streams = 0;
  for (const auto& file : std::filesystem::directory_iterator(MX_FIXTURES_DIR)) {
    std::string name = file.path().filename().string();
    if (name.rfind("anthropic-", 0) != 0 || file.path().extension() != ".sse") continue;
    std::ifstream in(file.path());
    std::vector<std::pair<std::string, std::string>> events;
    std::string line, event;
    while (std::getline(in, line)) {
      if (line.rfind("event: ", 0) == 0) event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) events.emplace_back(event, line.substr(6));
    }
    ASSERT_FALSE(events.empty()) << name;
    EXPECT_EQ(replay(events, false), replay(events, true)) << name;
    ++streams;
  }
  EXPECT_GE(streams, 6);
}

}  // namespace
}  // namespace mx::anthropic
