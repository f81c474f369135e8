#include "openai_request.hpp"

#include <gtest/gtest.h>

namespace mx::openai {
namespace {

TEST(OpenAIRequest, MapsSystemToolsAndTurns) {
  ChatRequest request;
  request.model = "gpt-4o-mini";
  request.maxTokens = 300;
  request.system = {ContentBlock::makeText("Be brief."), ContentBlock::makeText("Canon.")};
  request.tools = {{"get_capital", "", {{"type", "object"}, {"properties", {{"country", {{"type", "string"}}}}}}}};
  request.messages = {
      {Role::User, {ContentBlock::makeText("What is the capital of the UK?")}},
      {Role::Assistant, {ContentBlock::makeToolUse("call_ZR5", "get_capital", {{"country", "UK"}})}},
      {Role::User, {ContentBlock::makeToolResult("call_ZR5", "London", false)}},
  };
  Json body = buildChatBody(request, {});
  EXPECT_EQ(body["model"], "gpt-4o-mini");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"], Json({{"include_usage", true}}));
  EXPECT_EQ(body["max_completion_tokens"], 300);
  ASSERT_EQ(body["messages"].size(), 4u);
  EXPECT_EQ(body["messages"][0], Json({{"role", "system"}, {"content", "Be brief.\n\nCanon."}}));
  EXPECT_EQ(body["messages"][1], Json({{"role", "user"}, {"content", "What is the capital of the UK?"}}));
  EXPECT_EQ(body["messages"][2]["role"], "assistant");
  EXPECT_TRUE(body["messages"][2]["content"].is_null());
  EXPECT_EQ(body["messages"][2]["tool_calls"][0],
            Json({{"id", "call_ZR5"}, {"type", "function"}, {"function", {{"name", "get_capital"}, {"arguments", "{\"country\":\"UK\"}"}}}}));
  EXPECT_EQ(body["messages"][3], Json({{"role", "tool"}, {"tool_call_id", "call_ZR5"}, {"content", "London"}}));
  EXPECT_EQ(body["tools"][0]["type"], "function");
  EXPECT_EQ(body["tools"][0]["function"]["name"], "get_capital");
  EXPECT_EQ(body["tool_choice"], "auto");
}

TEST(OpenAIRequest, CompatibleServerOptions) {
  ChatRequest request;
  request.model = "llama3";
  request.maxTokens = 50;
  request.temperature = 0.2;
  request.stopSequences = {"END"};
  request.messages = {{Role::User, {ContentBlock::makeText("hi")}},
                      {Role::User, {ContentBlock::makeToolResult("c1", "boom", true)}}};
  Json body = buildChatBody(request, {"max_tokens", false});
  EXPECT_EQ(body["max_tokens"], 50);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_FALSE(body.contains("stream_options"));
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_EQ(body["stop"], Json::array({"END"}));
  EXPECT_EQ(body["messages"][1]["content"], "Error: boom");
}

TEST(OpenAIRequest, ALentConversationMapsAsTheSameMessagesCopied) {
  Json conversation = Json::parse(R"([
    {"role": "user", "content": "What is the capital of the UK?"},
    {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
                                      {"type": "tool_use", "id": "call_ZR5", "name": "get_capital", "input": {"country": "UK"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_ZR5", "content": "London", "is_error": true},
                                 {"type": "image"}]},
    {"role": "assistant", "content": "London."}
  ])");
  for (size_t from : {0u, 1u, 3u, 4u}) {
    ChatRequest lent;
    lent.model = "gpt-4o-mini";
    lent.system = {ContentBlock::makeText("Be brief.")};
    lent.conversation = {&conversation, from};
    lent.messages = {{Role::User, {ContentBlock::makeText("And France?")}}};
    ChatRequest copied = lent;
    copied.messages = allMessages(lent);
    copied.conversation = {};
    Json body = buildChatBody(lent, {});
    EXPECT_EQ(body, buildChatBody(copied, {})) << "from " << from;
    EXPECT_EQ(body["messages"].back(), Json({{"role", "user"}, {"content", "And France?"}})) << "the typed messages come last";
  }
}

}  // namespace
}  // namespace mx::openai
