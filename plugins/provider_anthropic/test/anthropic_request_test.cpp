#include "anthropic_request.hpp"

#include <gtest/gtest.h>

namespace mx::anthropic {
namespace {

ChatRequest sampleRequest() {
  ChatRequest request;
  request.model = "claude-sonnet-4-5-20250929";
  request.maxTokens = 2048;
  request.system = {ContentBlock::makeText("You are MarketerX."), ContentBlock::makeText("Canon: ...")};
  request.tools = {{"fetch-canon", "Load canon", {{"type", "object"}}},
                   {"knowledge-search", "Search", {{"type", "object"}}}};
  request.messages = {
      {Role::User, {ContentBlock::makeText("Create an email")}},
      {Role::Assistant,
       {ContentBlock::makeText("Loading canon."), ContentBlock::makeToolUse("toolu_1", "fetch-canon", {{"category", "all"}})}},
      {Role::User, {ContentBlock::makeToolResult("toolu_1", "{\"templates\":[]}", false)}},
  };
  return request;
}

Json bodyOf(const ChatRequest& request, const RequestOptions& options) {
  std::string text = buildRequestBody(request, options);
  Json body = Json::parse(text, nullptr, false);
  EXPECT_TRUE(body.is_object()) << text;
  return body;
}

// A provider writes the tools once per ToolSet and passes the text in: the
// body is byte for byte the one written in full, for every cache setting.
TEST(AnthropicRequest, ToolsWrittenAheadGiveTheSameBody) {
  for (bool cache : {true, false}) {
    for (CacheTtl ttl : {CacheTtl::FiveMinutes, CacheTtl::OneHour}) {
      ChatRequest request = sampleRequest();
      request.cacheSystemAndTools = cache;
      request.cacheTtl = ttl;
      std::string tools = toolsJson(request);
      EXPECT_EQ(tools.front(), '[');
      EXPECT_EQ(buildRequestBody(request, {}, tools), buildRequestBody(request, {}));
    }
  }
  ChatRequest none = sampleRequest();
  none.tools = ToolSet();
  EXPECT_EQ(toolsJson(none), "");
  EXPECT_FALSE(bodyOf(none, {}).contains("tools"));
}

TEST(AnthropicRequest, StreamsWithSystemToolsAndMessages) {
  Json body = bodyOf(sampleRequest(), {});
  EXPECT_EQ(body["model"], "claude-sonnet-4-5-20250929");
  EXPECT_EQ(body["max_tokens"], 2048);
  EXPECT_EQ(body["stream"], true);
  ASSERT_EQ(body["system"].size(), 2u);
  EXPECT_EQ(body["system"][0], Json({{"type", "text"}, {"text", "You are MarketerX."}}));
  ASSERT_EQ(body["tools"].size(), 2u);
  EXPECT_EQ(body["tools"][0]["input_schema"], Json({{"type", "object"}}));
  ASSERT_EQ(body["messages"].size(), 3u);
  EXPECT_EQ(body["messages"][1]["content"][1],
            Json({{"type", "tool_use"}, {"id", "toolu_1"}, {"name", "fetch-canon"}, {"input", {{"category", "all"}}}}));
  EXPECT_EQ(body["messages"][2]["content"][0]["type"], "tool_result");
  EXPECT_EQ(body["messages"][2]["content"][0]["tool_use_id"], "toolu_1");
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("thinking"));
}

TEST(AnthropicRequest, CacheBreakpointsOnSystemToolsAndLastUserTurn) {
  Json body = bodyOf(sampleRequest(), {});
  Json ephemeral = {{"type", "ephemeral"}};
  EXPECT_FALSE(body["system"][0].contains("cache_control"));
  EXPECT_EQ(body["system"][1]["cache_control"], ephemeral);
  EXPECT_FALSE(body["tools"][0].contains("cache_control"));
  EXPECT_EQ(body["tools"][1]["cache_control"], ephemeral);
  EXPECT_EQ(body["messages"][2]["content"][0]["cache_control"], ephemeral);
  EXPECT_FALSE(body["messages"][0]["content"][0].contains("cache_control"));
}

TEST(AnthropicRequest, OneHourTtlAndNoConversationBreakpoint) {
  ChatRequest request = sampleRequest();
  request.cacheTtl = CacheTtl::OneHour;
  Json body = bodyOf(request, {ConversationBreakpoint::None});
  EXPECT_EQ(body["system"][1]["cache_control"], Json({{"type", "ephemeral"}, {"ttl", "1h"}}));
  EXPECT_FALSE(body["messages"][2]["content"][0].contains("cache_control"));
}

TEST(AnthropicRequest, CachingCanBeTurnedOff) {
  ChatRequest request = sampleRequest();
  request.cacheSystemAndTools = false;
  std::string dumped = buildRequestBody(request, {});
  EXPECT_EQ(dumped.find("cache_control"), std::string::npos);
}

TEST(AnthropicRequest, OptionalFieldsAndEmptyTextBlocks) {
  ChatRequest request;
  request.model = "m";
  request.temperature = 0.3;
  request.stopSequences = {"###"};
  request.thinkingBudgetTokens = 1024;
  request.userId = "user-7";
  request.messages = {{Role::User, {ContentBlock::makeText(""), ContentBlock::makeText("hi")}}};
  Json body = bodyOf(request, {});
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.3);
  EXPECT_EQ(body["stop_sequences"], Json::array({"###"}));
  EXPECT_EQ(body["thinking"], Json({{"type", "enabled"}, {"budget_tokens", 1024}}));
  EXPECT_EQ(body["metadata"]["user_id"], "user-7");
  ASSERT_EQ(body["messages"][0]["content"].size(), 1u);
  EXPECT_FALSE(body.contains("system"));
  EXPECT_FALSE(body.contains("tools"));
}

TEST(AnthropicRequest, ToolErrorsAndThinkingBlocksRoundTrip) {
  ChatRequest request;
  request.model = "m";
  ContentBlock thinking;
  thinking.type = BlockType::Thinking;
  thinking.text = "hmm";
  thinking.signature = "sig";
  request.messages = {{Role::Assistant, {thinking}},
                      {Role::User, {ContentBlock::makeToolResult("t1", "bad arguments", true)}}};
  Json body = bodyOf(request, {});
  EXPECT_EQ(body["messages"][0]["content"][0], Json({{"type", "thinking"}, {"thinking", "hmm"}, {"signature", "sig"}}));
  EXPECT_EQ(body["messages"][1]["content"][0]["is_error"], true);
}

// The body is written as text, not through a JSON tree: it must still be the
// JSON the tree would have made, whatever the strings hold.
TEST(AnthropicRequest, WritesValidJsonForAnyText) {
  ChatRequest request = sampleRequest();
  std::string awkward = std::string("quote \" backslash \\ controls \n\r\t\x01 nul ") + std::string(1, '\0') +
                        " caf\xC3\xA9 \xF0\x9F\x9A\x80 </script>";
  request.system.push_back(ContentBlock::makeText(awkward));
  request.messages.push_back({Role::Assistant, {ContentBlock::makeText(awkward)}});
  request.messages.push_back({Role::User, {ContentBlock::makeToolResult("toolu_\"2", awkward, true)}});
  request.stopSequences = {awkward};
  request.userId = awkward;
  Json body = bodyOf(request, {});
  EXPECT_EQ(body["system"][2]["text"], awkward);
  EXPECT_EQ(body["messages"][3]["content"][0]["text"], awkward);
  EXPECT_EQ(body["messages"][4]["content"][0]["content"], awkward);
  EXPECT_EQ(body["messages"][4]["content"][0]["tool_use_id"], "toolu_\"2");
  EXPECT_EQ(body["stop_sequences"][0], awkward);
  EXPECT_EQ(body["metadata"]["user_id"], awkward);
}

TEST(AnthropicRequest, InvalidUtf8BecomesReplacementCharacters) {
  ChatRequest request = sampleRequest();
  request.messages.push_back({Role::User, {ContentBlock::makeText("cut \xE2\x82 and lone \x80")}});
  Json body = bodyOf(request, {});
  EXPECT_EQ(body["messages"][3]["content"][0]["text"], "cut \xEF\xBF\xBD\xEF\xBF\xBD and lone \xEF\xBF\xBD");
}

TEST(AnthropicRequest, MessagesOfOnlyEmptyTextAreLeftOut) {
  ChatRequest request = sampleRequest();
  request.messages.insert(request.messages.begin() + 1, Message{Role::Assistant, {ContentBlock::makeText("")}});
  Json body = bodyOf(request, {});
  ASSERT_EQ(body["messages"].size(), 3u);
  EXPECT_EQ(body["messages"][1]["role"], "assistant");
  EXPECT_EQ(body["messages"][1]["content"][0]["text"], "Loading canon.");
}

// A conversation in the state's JSON shape, with what reading it must be
// lenient about: string content, empty and unknown blocks, a message with
// nothing to send, a tool result that is not text, a missing tool input.
Json lentConversation() {
  return Json::parse(R"([
    {"role": "user", "content": "Create an email"},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "Canon first.", "signature": "sig-1"},
      {"type": "text", "text": "Loading canon."},
      {"type": "tool_use", "id": "toolu_1", "name": "fetch-canon", "input": {"category": "all", "n": [1, 2.5, null]}},
      {"type": "tool_use", "id": "toolu_2", "name": "knowledge-search"},
      {"type": "server_tool_use", "id": "x"}]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"templates\":[\"a\\\"b\"]}"},
      {"type": "tool_result", "tool_use_id": "toolu_2", "content": {"hits": []}, "is_error": true},
      {"type": "text", "text": ""}, 42, {"text": "no type"}, {"type": "text", "text": 5}]},
    {"role": "assistant", "content": [{"type": "text", "text": ""}, {"type": "image"}]},
    {"role": "assistant", "content": 42},
    7,
    {"role": "user", "content": [{"type": "text", "text": "Shorter, with \u00e9 and \ud83d\ude00"}, {"type": "other"}]},
    {"role": "assistant", "content": "Here it is."}
  ])");
}

// The same request with the conversation copied into Message values (what
// providers got before SDK ABI 3.0).
ChatRequest copiedFrom(const ChatRequest& lent) {
  ChatRequest copied = lent;
  copied.messages = allMessages(lent);
  copied.conversation = {};
  return copied;
}

TEST(AnthropicRequest, ALentConversationIsWrittenAsTheSameMessagesCopied) {
  Json conversation = lentConversation();
  for (size_t from : {0u, 2u, 5u, 6u, 8u, 9u}) {
    for (bool cache : {true, false}) {
      for (auto breakpoint : {ConversationBreakpoint::LastUserMessage, ConversationBreakpoint::None}) {
        for (bool typedAfter : {false, true}) {
          ChatRequest request = sampleRequest();
          request.messages.clear();
          if (typedAfter) request.messages = {{Role::Assistant, {ContentBlock::makeText("And a typed one after.")}}};
          request.conversation = {&conversation, from};
          request.cacheSystemAndTools = cache;
          std::string lent = buildRequestBody(request, {breakpoint});
          EXPECT_EQ(lent, buildRequestBody(copiedFrom(request), {breakpoint}))
              << "from " << from << ", cache " << cache << ", typed after " << typedAfter;
          EXPECT_TRUE(Json::parse(lent, nullptr, false).is_object()) << lent;
        }
      }
    }
  }
}

TEST(AnthropicRequest, TheBreakpointGoesOnTheLastUserMessageLentOrTyped) {
  Json conversation = lentConversation();
  ChatRequest request = sampleRequest();
  request.messages.clear();
  request.conversation = {&conversation, 0};
  Json body = bodyOf(request, {});
  const Json& messages = body["messages"];
  ASSERT_EQ(messages.size(), 5u) << "the three messages with nothing to send are left out";
  EXPECT_EQ(messages[2]["content"][1], Json({{"type", "tool_result"}, {"tool_use_id", "toolu_2"}, {"content", R"({"hits":[]})"},
                                            {"is_error", true}}));
  EXPECT_EQ(messages[1]["content"][3]["input"], Json::object());
  EXPECT_EQ(messages[3]["content"].back()["cache_control"], Json({{"type", "ephemeral"}}));
  EXPECT_FALSE(messages[4]["content"][0].contains("cache_control"));
  request.messages = {{Role::User, {ContentBlock::makeText("A typed user turn.")}}};
  body = bodyOf(request, {});
  EXPECT_FALSE(body["messages"][3]["content"][0].contains("cache_control"));
  EXPECT_TRUE(body["messages"][5]["content"][0].contains("cache_control"));
}

}  // namespace
}  // namespace mx::anthropic
