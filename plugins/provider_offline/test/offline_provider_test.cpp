#include "offline_provider.hpp"

#include <gtest/gtest.h>

namespace mx::offline {
namespace {

struct Collect : ChatObserver {
  std::string text, toolJson;
  std::string toolName;
  Status status;
  ChatResponse response;
  bool done = false;
  void onTextDelta(std::string_view t) override { text += t; ++deltas; }
  void onToolCallStart(int, std::string_view, std::string_view name) override { toolName = name; }
  void onToolCallDelta(int, std::string_view p) override { toolJson += p; }
  void onComplete(const Status& s, ChatResponse r) override {
    status = s;
    response = std::move(r);
    done = true;
  }
  int deltas = 0;
};

TEST(OfflineProvider, StreamsTheWriterDraftInWordGroups) {
  OfflineProvider provider({std::chrono::milliseconds(0), 2}, nullptr);
  ChatRequest request;
  request.messages = {{Role::User, {ContentBlock::makeText("<brief>{\"contentType\":\"ad\",\"objective\":\"Promote our app\"}</brief>")}}};
  auto collect = std::make_shared<Collect>();
  provider.chat(request, collect, {});
  ASSERT_TRUE(collect->done);
  ASSERT_TRUE(collect->status.isOk());
  EXPECT_GT(collect->deltas, 3);
  EXPECT_EQ(collect->text, collect->response.message.content[0].text);
  EXPECT_EQ(collect->response.model, "offline");
  EXPECT_EQ(collect->response.stopReason, StopReason::EndTurn);
  EXPECT_GT(collect->response.usage.outputTokens, 0);
}

TEST(OfflineProvider, PlansToolCallsWhenToolsAreOffered) {
  OfflineProvider provider({}, nullptr);
  ChatRequest request;
  request.tools = {{"fetch-canon", "", {{"type", "object"}}}};
  request.messages = {{Role::User, {ContentBlock::makeText("Create an email campaign for our spring sale")}}};
  auto collect = std::make_shared<Collect>();
  provider.chat(request, collect, {});
  ASSERT_TRUE(collect->done);
  EXPECT_EQ(collect->toolName, "fetch-canon");
  EXPECT_EQ(Json::parse(collect->toolJson)["contentType"], "email");
  EXPECT_EQ(collect->response.stopReason, StopReason::ToolUse);
  EXPECT_EQ(collect->response.message.content.back().type, BlockType::ToolUse);
}

TEST(OfflineProvider, CancellationStopsTheStream) {
  std::vector<std::function<void()>> queue;
  Scheduler manual = [&](std::chrono::milliseconds, std::function<void()> task) { queue.push_back(std::move(task)); };
  OfflineProvider provider({std::chrono::milliseconds(10), 1}, manual);
  ChatRequest request;
  request.messages = {{Role::User, {ContentBlock::makeText("Write an email about our spring sale")}}};
  auto collect = std::make_shared<Collect>();
  CancellationSource source;
  provider.chat(request, collect, source.token());
  EXPECT_FALSE(collect->done);  // never calls back inside chat()
  for (int i = 0; i < 3; ++i) {
    auto task = std::move(queue.front());
    queue.erase(queue.begin());
    task();
  }
  source.cancel();
  while (!queue.empty()) {
    auto task = std::move(queue.front());
    queue.erase(queue.begin());
    task();
  }
  ASSERT_TRUE(collect->done);
  EXPECT_EQ(collect->status.code(), Code::Cancelled);
  EXPECT_EQ(collect->deltas, 3);  // one delta per task run before the cancel
}

TEST(OfflineProvider, WordDeltasKeepEveryCharacter) {
  std::string text = "Subject: Hi!\n\n  Two  spaces and\ttabs ";
  std::string joined;
  for (const auto& d : wordDeltas(text, 2)) joined += d;
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace mx::offline
