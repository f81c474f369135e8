#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

#include "agent_nodes.hpp"
#include "mx/testing/fakes.hpp"

namespace mx::agent {
namespace {

using namespace std::chrono_literals;

// A tool that answers after `delay` on its own thread (like I/O), or never.
class SlowTool final : public Tool {
 public:
  SlowTool(std::string name, std::chrono::milliseconds delay, bool answer = true)
      : name_(std::move(name)), delay_(delay), answer_(answer) {}
  ToolDefinition definition() const override {
    return {name_, "slow tool", Json::parse(R"({"type":"object","properties":{"q":{"type":"string"}},"required":["q"]})")};
  }
  void invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) override {
    if (!answer_) {
      held_ = std::move(done);  // never answers: only the timeout ends it
      cancelled_ = context->cancel;
      return;
    }
    // By value: a test whose node timed out may destroy the tool before its answer comes.
    std::thread([name = name_, delay = delay_, arguments, done = std::move(done)] {
      std::this_thread::sleep_for(delay);
      done(Json{{"tool", name}, {"q", arguments["q"]}});
    }).detach();
  }
  CancellationToken cancelled_;

 private:
  std::string name_;
  std::chrono::milliseconds delay_;
  bool answer_;
  ToolDone held_;
};

Result<Json> runNode(Node& node, const Json& state, EventSink* sink, CancellationToken cancel = {}) {
  std::promise<Result<Json>> promise;
  auto context = std::make_shared<NodeContext>();
  context->nodeName = "n";
  context->state = &state;
  context->events = sink;
  context->cancel = std::move(cancel);
  node.run(context, [&promise](Result<Json> r) { promise.set_value(std::move(r)); });
  auto future = promise.get_future();
  EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
  return future.get();
}

Timer threadTimer() {
  return [](std::chrono::milliseconds delay, std::function<void()> task) {
    std::thread([delay, task = std::move(task)] {
      std::this_thread::sleep_for(delay);
      task();
    }).detach();
  };
}

TEST(ModelNode, CallsTheModelWithConversationToolsAndStreamsReasoning) {
  Usage usage;
  usage.inputTokens = 100;
  usage.outputTokens = 20;
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{"Let me ", "check."}, {ContentBlock::makeToolUse("t1", "search", {{"q", "x"}})}, StopReason::ToolUse, usage, {}}});
  auto catalogue = std::make_shared<testing::FakeModelCatalogue>(provider);
  ModelNodeConfig config;
  config.systemPrompt = "You are MarketerX.";
  ModelNode node(config, catalogue, {std::make_shared<SlowTool>("search", 0ms)});
  Json state = {{"messages", Json::array({{{"role", "user"}, {"content", "Find x"}}})},
                {"usage", {{"inputTokens", 5}, {"costUsd", 0.5}}}};
  testing::RecordingEventSink sink;
  auto update = runNode(node, state, &sink);
  ASSERT_TRUE(update.isOk()) << update.status().toString();
  auto requests = provider->requests();
  const auto& request = requests.at(0);
  EXPECT_EQ(request.system.at(0).text, "You are MarketerX.");
  EXPECT_EQ(request.tools.at(0).name, "search");
  EXPECT_EQ(allMessages(request).at(0).content.at(0).text, "Find x");
  EXPECT_EQ(request.conversation.array, &state["messages"]) << "the state's messages are lent, not copied";
  EXPECT_TRUE(request.messages.empty());
  EXPECT_EQ((*update)["messages"][0]["role"], "assistant");
  EXPECT_EQ((*update)["messages"][0]["content"][1]["type"], "tool_use");
  EXPECT_EQ((*update)["usage"]["inputTokens"], 105);
  EXPECT_EQ((*update)["usage"]["outputTokens"], 20);
  EXPECT_DOUBLE_EQ((*update)["usage"]["costUsd"].get<double>(), 0.5 + 0.02);
  ASSERT_EQ(sink.events().size(), 2u);
  EXPECT_EQ(sink.events()[0].event, "thinking");
  EXPECT_EQ(sink.events()[0].json(), Json({{"type", "agent_reasoning"}, {"content", "Let me "}}));
  EXPECT_EQ(sink.events()[0].data, Json({{"type", "agent_reasoning"}, {"content", "Let me "}}).dump());  // as emitJson wrote it
}

// The names of the tools offered to the model by one run of `node` per context (state.context).
std::vector<ChatRequest> requestsFor(const std::vector<std::shared_ptr<Tool>>& tools, ModelNodeConfig config,
                                     const std::vector<Json>& contexts) {
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"ok"}, {}, StopReason::EndTurn, {}, {}}});
  ModelNode node(std::move(config), std::make_shared<testing::FakeModelCatalogue>(provider), tools);
  for (const auto& context : contexts) {
    Json state = {{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}, {"context", context}};
    EXPECT_TRUE(runNode(node, state, nullptr).isOk());
  }
  return provider->requests();
}

std::vector<std::string> toolNames(const ChatRequest& request) {
  std::vector<std::string> names;
  for (const auto& tool : request.tools) names.push_back(tool.name);
  return names;
}

TEST(ModelNode, FlaggedToolsAreOfferedOnlyWhenTheContextSetsTheirFlag) {
  std::vector<std::shared_ptr<Tool>> tools;
  for (const char* name : {"search", "web", "deep", "extra"}) tools.push_back(std::make_shared<SlowTool>(name, 0ms));
  ModelNodeConfig config;
  config.toolFlags = {{"web", "webSearch"}, {"deep", "webSearch"}, {"extra", "extras"}};
  auto requests = requestsFor(tools, config,
                              {Json::object(), {{"webSearch", true}}, {{"webSearch", true}, {"extras", true}},
                               {{"webSearch", "yes"}, {"extras", true}}, {{"webSearch", true}}});
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(toolNames(requests[0]), (std::vector<std::string>{"search"}));
  EXPECT_EQ(toolNames(requests[1]), (std::vector<std::string>{"search", "web", "deep"}));
  EXPECT_EQ(toolNames(requests[2]), (std::vector<std::string>{"search", "web", "deep", "extra"}));
  EXPECT_EQ(toolNames(requests[3]), (std::vector<std::string>{"search", "extra"}));  // only true counts
  // The same tools on every call are one shared list, not a copy per request.
  EXPECT_EQ(requests[4].tools.identity(), requests[1].tools.identity());
  EXPECT_EQ(requests[4].tools[1].inputSchema["required"][0], "q");
}

TEST(ModelNode, ManyFlagsAreDecidedPerCall) {
  std::vector<std::shared_ptr<Tool>> tools;
  ModelNodeConfig config;
  for (int i = 0; i < 12; ++i) {  // more flags than the node lists in advance
    tools.push_back(std::make_shared<SlowTool>("tool" + std::to_string(i), 0ms));
    config.toolFlags["tool" + std::to_string(i)] = "flag" + std::to_string(i);
  }
  tools.push_back(std::make_shared<SlowTool>("always", 0ms));
  auto requests = requestsFor(tools, config, {{{"flag3", true}, {"flag11", true}}, Json::object()});
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(toolNames(requests[0]), (std::vector<std::string>{"tool3", "tool11", "always"}));
  EXPECT_EQ(toolNames(requests[1]), (std::vector<std::string>{"always"}));
}

TEST(ModelNode, StatePreferenceChoosesTheModel) {
  auto catalogue = std::make_shared<testing::FakeModelCatalogue>(std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{}}));
  ModelNode node({}, catalogue, {});
  EXPECT_EQ(node.modelFor(Json::object()), "fake-1");
  EXPECT_EQ(node.modelFor({{"modelPreference", {{"tier1", "claude-x"}}}}), "claude-x");
}

TEST(ModelNode, ModelFailuresFailTheNode) {
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{}, {}, StopReason::None, {}, unavailableError("529 overloaded")}});
  ModelNode node({}, std::make_shared<testing::FakeModelCatalogue>(provider), {});
  Json state = {{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}};
  auto update = runNode(node, state, nullptr);
  EXPECT_EQ(update.status().code(), Code::Unavailable);
  EXPECT_EQ(update.status().message(), "model fake-1: 529 overloaded");
  Json empty = {{"messages", Json::array()}};
  EXPECT_EQ(runNode(node, empty, nullptr).status().code(), Code::FailedPrecondition);
}

TEST(ModelNode, ARequestAskedForAgainForAFallbackIsTheSameRequest) {
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{"ok"}, {}, StopReason::EndTurn, {}, {}}, {{"ok"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = std::make_shared<testing::FakeModelCatalogue>(provider);
  ModelNodeConfig config;
  config.systemPrompt = "You are MarketerX.";
  ModelNode node(config, catalogue, {std::make_shared<SlowTool>("search", 0ms)});
  Json state = {{"messages", Json::array({{{"role", "user"}, {"content", "Find x"}},
                                          toJson(Message{Role::Assistant, {ContentBlock::makeText("On it")}})})}};
  ASSERT_TRUE(runNode(node, state, nullptr).isOk());
  catalogue->setBuildsPerCall(2);  // the second build is the one sent, as for a fallback model
  ASSERT_TRUE(runNode(node, state, nullptr).isOk());
  EXPECT_EQ(catalogue->builds(), 3);
  auto requests = provider->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].system.at(0).text, requests[0].system.at(0).text);
  EXPECT_EQ(requests[1].tools.identity(), requests[0].tools.identity()) << "the same tool set, not a copy";
  auto first = allMessages(requests[0]);
  auto second = allMessages(requests[1]);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(toJson(second[0]), toJson(first[0]));
  EXPECT_EQ(toJson(second[1]), toJson(first[1]));
}

Json assistantCalls(std::vector<ContentBlock> calls) {
  Message message;
  message.role = Role::Assistant;
  message.content = std::move(calls);
  return {{"messages", Json::array({toJson(message)})}};
}

TEST(ToolsNode, RunsParallelCallsAndKeepsCallOrder) {
  ToolsNode node({}, {std::make_shared<SlowTool>("a", 200ms), std::make_shared<SlowTool>("b", 200ms)}, threadTimer());
  Json state = assistantCalls({ContentBlock::makeToolUse("t1", "a", {{"q", "1"}}), ContentBlock::makeToolUse("t2", "b", {{"q", "2"}})});
  testing::RecordingEventSink sink;
  auto started = std::chrono::steady_clock::now();
  auto update = runNode(node, state, &sink);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 380ms);  // in parallel, not 400 ms
  ASSERT_TRUE(update.isOk());
  const Json& content = (*update)["messages"][0]["content"];
  EXPECT_EQ((*update)["messages"][0]["role"], "user");
  EXPECT_EQ(content[0]["tool_use_id"], "t1");
  EXPECT_EQ(Json::parse(content[0]["content"].get<std::string>())["tool"], "a");
  EXPECT_EQ(content[1]["tool_use_id"], "t2");
  EXPECT_EQ(content[1]["is_error"], false);
  int running = 0, done = 0;
  for (const auto& e : sink.events()) {
    running += e.json()["status"] == "running";
    done += e.json()["status"] == "done";
    EXPECT_EQ(e.json()["type"], "tool_status");
    EXPECT_EQ(e.data, e.json().dump()) << "written as its Json would dump, keys in order";
    EXPECT_EQ(e.json().contains("durationMs"), e.json()["status"] == "done");
  }
  EXPECT_EQ(running, 2);
  EXPECT_EQ(done, 2);
}

TEST(ToolsNode, InvalidArgumentsAndUnknownToolsGoBackToTheModel) {
  ToolsNode node({}, {std::make_shared<SlowTool>("a", 0ms)}, threadTimer());
  Json state = assistantCalls({ContentBlock::makeToolUse("t1", "a", {{"q", 7}}), ContentBlock::makeToolUse("t2", "nope", {})});
  auto update = runNode(node, state, nullptr);
  ASSERT_TRUE(update.isOk());
  const Json& content = (*update)["messages"][0]["content"];
  EXPECT_EQ(content[0]["is_error"], true);
  EXPECT_EQ(content[0]["content"], "Error: invalid arguments for a: /q: expected string, got integer;");
  EXPECT_EQ(content[1]["content"], "Error: unknown tool \"nope\"");
}

TEST(ToolsNode, AToolThatHangsTimesOutAndIsTold) {
  auto hanging = std::make_shared<SlowTool>("hang", 0ms, false);
  ToolsNodeConfig config;
  config.timeout = 100ms;
  ToolsNode node(config, {hanging, std::make_shared<SlowTool>("ok", 10ms)}, threadTimer());
  Json state = assistantCalls({ContentBlock::makeToolUse("t1", "hang", {{"q", "x"}}), ContentBlock::makeToolUse("t2", "ok", {{"q", "y"}})});
  auto started = std::chrono::steady_clock::now();
  auto update = runNode(node, state, nullptr);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(update.isOk());
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 500ms);
  const Json& content = (*update)["messages"][0]["content"];
  EXPECT_EQ(content[0]["content"], "Error: deadline_exceeded: hang timed out after 100 ms");
  EXPECT_EQ(content[1]["is_error"], false);
  EXPECT_TRUE(hanging->cancelled_.isCancelled());
}

// Tool calls that answer in time leave no timer behind: the node keeps one
// armed timer for all of them, and firing it then times nothing out.
TEST(ToolsNode, CallsThatAnswerInTimeShareOneTimerAndLeaveNothingWaiting) {
  std::mutex mutex;
  std::vector<std::function<void()>> armed;
  Timer recording = [&](std::chrono::milliseconds, std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex);
    armed.push_back(std::move(task));
  };
  ToolsNode node({}, {std::make_shared<SlowTool>("a", 0ms), std::make_shared<SlowTool>("b", 0ms)}, recording);
  Json state = assistantCalls({ContentBlock::makeToolUse("t1", "a", {{"q", "1"}}), ContentBlock::makeToolUse("t2", "b", {{"q", "2"}})});
  for (int turn = 0; turn < 20; ++turn) {
    auto update = runNode(node, state, nullptr);
    ASSERT_TRUE(update.isOk());
    EXPECT_EQ((*update)["messages"][0]["content"][1]["is_error"], false);
  }
  std::vector<std::function<void()>> fired;
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(armed.size(), 1u) << "a timer per call";
    fired.swap(armed);
  }
  for (auto& task : fired) task();  // nothing waits: nothing is timed out, nothing armed again
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_TRUE(armed.empty());
}

TEST(ToolsNode, NoToolCallsIsAnEmptyUpdate) {
  ToolsNode node({}, {}, threadTimer());
  Json state = {{"messages", Json::array({{{"role", "assistant"}, {"content", "done"}}})}};
  auto update = runNode(node, state, nullptr);
  ASSERT_TRUE(update.isOk());
  EXPECT_TRUE(update->empty());
}

}  // namespace
}  // namespace mx::agent

namespace mx::agent {
namespace {

// A conversation of `turns` turns: the user asks, the assistant calls a tool, the result, the answer.
Json longConversation(int turns) {
  Json messages = Json::array();
  for (int t = 0; t < turns; ++t) {
    messages.push_back({{"role", "user"}, {"content", "Turn " + std::to_string(t) + ": write an email about offer " + std::to_string(t) + "."}});
    messages.push_back({{"role", "assistant"},
                        {"content", Json::array({{{"type", "tool_use"}, {"id", "t" + std::to_string(t)}, {"name", "search"}, {"input", {{"q", "offer"}}}}})}});
    messages.push_back({{"role", "user"},
                        {"content", Json::array({{{"type", "tool_result"}, {"tool_use_id", "t" + std::to_string(t)}, {"content", std::string(200, 'r')}}})}});
    messages.push_back({{"role", "assistant"}, {"content", "Here is email " + std::to_string(t) + ". It leads with the offer."}});
  }
  return messages;
}

SummarizeConfig summarizeConfig(int64_t budget) {
  SummarizeConfig config;
  config.budgetTokens = budget;
  config.keepRecent = 20;
  return config;
}

TEST(SummarizeNode, BelowTheBudgetItDoesNothing) {
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"summary"}, {}, StopReason::EndTurn, {}, {}}});
  SummarizeNode node(summarizeConfig(0), std::make_shared<testing::FakeModelCatalogue>(provider));  // fake-1 has no window: 100k
  Json state = {{"messages", longConversation(30)}};
  auto update = runNode(node, state, nullptr);
  ASSERT_TRUE(update.isOk());
  EXPECT_TRUE(update->empty());
  EXPECT_TRUE(provider->requests().empty());
}

TEST(SummarizeNode, AHundredAndTwentyMessagesFoldTheOlderTurnsAtAUsersTurn) {
  Usage usage;
  usage.outputTokens = 50;
  auto provider = std::make_shared<testing::FakeModelProvider>(
      std::vector<testing::ScriptedReply>{{{"The user wanted ", "emails about offers 0-24."}, {}, StopReason::EndTurn, usage, {}}});
  SummarizeNode node(summarizeConfig(500), std::make_shared<testing::FakeModelCatalogue>(provider));
  Json messages = longConversation(30);  // 120 messages
  Json state = {{"messages", messages}};
  testing::RecordingEventSink sink;
  auto update = runNode(node, state, &sink);
  ASSERT_TRUE(update.isOk()) << update.status().toString();
  size_t through = (*update)["summary"]["through"];
  EXPECT_EQ(through, 100u);  // the user's turn that leaves the newest 20 messages
  EXPECT_EQ(messages[through]["content"], "Turn 25: write an email about offer 25.");
  EXPECT_EQ((*update)["summary"]["text"], "The user wanted emails about offers 0-24.");
  auto request = provider->requests().at(0);
  EXPECT_EQ(request.system.at(0).text, kSummarizePrompt);
  const std::string& transcript = request.messages.at(0).content.at(0).text;
  EXPECT_NE(transcript.find("User: Turn 0: write an email"), std::string::npos);
  EXPECT_NE(transcript.find("Assistant: Here is email 24."), std::string::npos);
  EXPECT_EQ(transcript.find("Turn 25"), std::string::npos);  // the recent turns are not summarised
  EXPECT_NE(transcript.find("[Assistant called search"), std::string::npos);
  ASSERT_EQ(sink.events().size(), 1u);
  EXPECT_EQ(sink.events()[0].json()["content"], "Summarised 100 earlier messages to keep the context within the model's window");

  // Next time only what came after the summary counts, and the summary is folded in.
  state["summary"] = (*update)["summary"];
  auto again = runNode(node, state, nullptr);
  ASSERT_TRUE(again.isOk());
  EXPECT_TRUE(again->empty());
}

TEST(SummarizeNode, AFailedSummaryLeavesTheConversationWhole) {
  auto provider = std::make_shared<testing::FakeModelProvider>(
      std::vector<testing::ScriptedReply>{{{}, {}, StopReason::None, {}, unavailableError("overloaded")}});
  SummarizeNode node(summarizeConfig(500), std::make_shared<testing::FakeModelCatalogue>(provider));
  Json state = {{"messages", longConversation(30)}};
  testing::RecordingEventSink sink;
  auto update = runNode(node, state, &sink);
  ASSERT_TRUE(update.isOk());
  EXPECT_TRUE(update->empty());
  ASSERT_EQ(sink.events().size(), 1u);
  EXPECT_EQ(sink.events()[0].json()["status"], "error");
}

TEST(ModelNode, SendsTheSummaryAndOnlyTheMessagesAfterIt) {
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"ok"}, {}, StopReason::EndTurn, {}, {}}});
  ModelNodeConfig config;
  config.systemPrompt = "You are MarketerX.";
  ModelNode node(config, std::make_shared<testing::FakeModelCatalogue>(provider), {});
  Json state = {{"messages", longConversation(30)}, {"summary", {{"through", 100}, {"text", "Emails 0-24 were written."}}}};
  ASSERT_TRUE(runNode(node, state, nullptr).isOk());
  auto request = provider->requests().at(0);
  ASSERT_EQ(request.system.size(), 2u);
  EXPECT_NE(request.system[1].text.find("Emails 0-24 were written."), std::string::npos);
  ASSERT_EQ(messageCount(request), 20u);
  EXPECT_EQ(request.conversation.from, 100u);
  EXPECT_EQ(allMessages(request)[0].content.at(0).text, "Turn 25: write an email about offer 25.");
}

}  // namespace
}  // namespace mx::agent
