// graph_marketer's node kinds and router with the SDK's fakes.
#include <gtest/gtest.h>

#include "marketer_nodes.hpp"
#include "mx/testing/fakes.hpp"
#include "templates.hpp"
#include "turn.hpp"

namespace mx::marketer {
namespace {

Result<Json> runNode(Node& node, const Json& state, EventSink* events = nullptr) {
  auto context = std::make_shared<NodeContext>();
  context->nodeName = "step";
  context->state = &state;
  context->events = events;
  Result<Json> out = internalError("node did not answer");
  node.run(context, [&out](Result<Json> result) { out = std::move(result); });  // the fakes answer synchronously
  return out;
}

Json userMessage(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

Json toolRound(const std::string& id, const std::string& tool, const Json& input, const Json& result, bool isError = false) {
  Message call;
  call.role = Role::Assistant;
  call.content.push_back(ContentBlock::makeToolUse(id, tool, input));
  Message answer;
  answer.role = Role::User;
  answer.content.push_back(ContentBlock::makeToolResult(id, result.is_string() ? result.get<std::string>() : result.dump(), isError));
  return Json::array({toJson(call), toJson(answer)});
}

Json conversation(std::initializer_list<Json> rounds, const std::string& user = "Create an email for our spring sale") {
  Json messages = Json::array({userMessage(user)});
  for (const auto& round : rounds) {
    for (const auto& m : round) messages.push_back(m);
  }
  return messages;
}

TEST(Turn, ReadsTheToolCallsSinceTheUsersLastWords) {
  Json messages = conversation({toolRound("a", "fetch-canon", {{"contentType", "email"}}, Json{{"lookFor", {"handbook"}}})});
  messages.push_back(userMessage("Now shorter"));
  for (const auto& m : toolRound("b", "validate-content", Json::object(), Json{{"valid", false}})) messages.push_back(m);
  Turn turn = readTurn(messages);
  EXPECT_EQ(turn.userText, "Now shorter");
  ASSERT_EQ(turn.calls.size(), 1u);
  EXPECT_EQ(turn.calls[0].name, "validate-content");
  EXPECT_EQ(turn.calls[0].result["valid"], false);
  EXPECT_EQ(turn.latest("fetch-canon"), nullptr);
}

TEST(Templates, FillFromStateResultsAndTheUsersWords) {
  Json state = {{"plan", {{"contentType", "email"}, {"knowledgeQuery", "spring sale"}, {"empty", ""}}}};
  Turn turn = readTurn(conversation({toolRound("a", "fetch-canon", {}, Json{{"lookFor", {"copywriting handbook", "brand voice"}},
                                                                            {"compliance", {{{"id", "r1"}}}}})}));
  Json filled = fillTemplate({{"contentType", "{plan.contentType}"},
                              {"query", "{plan.knowledgeQuery} {result:fetch-canon.lookFor}"},
                              {"rules", "{result:fetch-canon.compliance}"},
                              {"about", "{user_message}"},
                              {"missing", "{plan.nothing}"},
                              {"blank", "{plan.empty}"},
                              {"topK", 5}},
                             state, turn);
  EXPECT_EQ(filled["contentType"], "email");
  EXPECT_EQ(filled["query"], "spring sale copywriting handbook, brand voice");
  EXPECT_EQ(filled["rules"], Json::array({{{"id", "r1"}}}));  // a whole placeholder keeps its JSON type
  EXPECT_EQ(filled["about"], "Create an email for our spring sale");
  EXPECT_FALSE(filled.contains("missing"));  // resolved to nothing: an optional argument left out
  EXPECT_EQ(filled["blank"], "");
  EXPECT_EQ(filled["topK"], 5);
}

TEST(Templates, MalformedPlaceholdersAreRejectedAtLoad) {
  EXPECT_TRUE(checkTemplate({{"q", "{plan.topic} ideas"}}).isOk());
  EXPECT_FALSE(checkTemplate({{"q", "{plan.topic ideas"}}).isOk());
  EXPECT_FALSE(checkTemplate({{"q", "{}"}}).isOk());
  EXPECT_FALSE(checkTemplate(Json::array({"{result:}"})).isOk());
}

TEST(CallNode, AppendsTheToolCallWithFilledArgumentsAndSaysWhy) {
  CallConfig config;
  config.tool = "fetch-canon";
  config.arguments = {{"contentType", "{plan.contentType}"}, {"category", "all"}};
  config.reasoning = "Loading the {plan.contentType} canon.";
  CallNode node(config);
  Json state = {{"plan", {{"contentType", "ad"}}}, {"messages", conversation({})}};
  testing::RecordingEventSink sink;
  auto update = runNode(node, state, &sink);
  ASSERT_TRUE(update.isOk()) << update.status().toString();
  Message call = messageFromJson((*update)["messages"][0]);
  EXPECT_EQ(call.role, Role::Assistant);
  ASSERT_EQ(call.content.size(), 2u);
  EXPECT_EQ(call.content[0].text, "Loading the ad canon.");
  EXPECT_EQ(call.content[1].type, BlockType::ToolUse);
  EXPECT_EQ(call.content[1].name, "fetch-canon");
  EXPECT_EQ(call.content[1].input, Json({{"contentType", "ad"}, {"category", "all"}}));
  EXPECT_EQ(call.content[1].id, "toolu_mx_step_1");
  ASSERT_EQ(sink.events().size(), 1u);
  EXPECT_EQ(sink.events()[0].json()["type"], "agent_reasoning");
}

IntentConfig intentConfig(bool webTool) {
  IntentConfig config;
  config.systemPrompt = "Analyse.";
  config.webSearchAvailable = webTool;
  return config;
}

TEST(IntentNode, ThePlanGoesToItsChannelWithWebResearchOnlyWhenAllowed) {
  Json plan = {{"intent", "create"}, {"contentType", "email"}, {"topic", "spring sale"}, {"webResearch", true},
               {"reasoning", "An email about the spring sale."}};
  Usage usage;
  usage.outputTokens = 30;
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{}, {ContentBlock::makeToolUse("p1", "plan_content", plan)}, StopReason::ToolUse, usage, {}}});
  auto catalogue = std::make_shared<testing::FakeModelCatalogue>(provider);
  Json state = {{"messages", conversation({})}, {"context", {{"enableWebSearch", true}}}};

  IntentNode withWeb(intentConfig(true), catalogue);
  testing::RecordingEventSink sink;
  auto update = runNode(withWeb, state, &sink);
  ASSERT_TRUE(update.isOk()) << update.status().toString();
  EXPECT_EQ((*update)["plan"]["contentType"], "email");
  EXPECT_EQ((*update)["plan"]["webResearch"], true);
  EXPECT_EQ((*update)["plan"]["objective"], "");  // missing strings are filled in
  EXPECT_FALSE(update->contains("messages"));
  ASSERT_EQ(sink.events().size(), 1u);
  EXPECT_EQ(sink.events()[0].json(), Json({{"type", "agent_reasoning"}, {"content", "An email about the spring sale."}}));
  auto request = provider->requests().at(0);
  ASSERT_EQ(request.tools.size(), 1u);
  EXPECT_EQ(request.tools[0].name, "plan_content");
  EXPECT_EQ(request.system.at(0).text, "Analyse.");

  IntentNode noWebTool(intentConfig(false), catalogue);
  EXPECT_EQ((*runNode(noWebTool, state))["plan"]["webResearch"], false);
  Json notEnabled = {{"messages", conversation({})}, {"context", Json::object()}};
  EXPECT_EQ((*runNode(withWeb, notEnabled))["plan"]["webResearch"], false);
}

TEST(IntentNode, ATextAnswerIsAUserJustChatting) {
  auto provider = std::make_shared<testing::FakeModelProvider>(
      std::vector<testing::ScriptedReply>{{{"Hello! ", "I write marketing content."}, {}, StopReason::EndTurn, {}, {}}});
  IntentNode node(intentConfig(false), std::make_shared<testing::FakeModelCatalogue>(provider));
  Json state = {{"messages", Json::array({userMessage("who are you?")})}};
  testing::RecordingEventSink sink;
  auto update = runNode(node, state, &sink);
  ASSERT_TRUE(update.isOk());
  EXPECT_EQ((*update)["plan"]["intent"], "chat");
  Message answer = messageFromJson((*update)["messages"][0]);
  EXPECT_EQ(answer.role, Role::Assistant);
  EXPECT_EQ(answer.content.at(0).text, "Hello! I write marketing content.");
  EXPECT_EQ(sink.events().size(), 2u);  // the streamed text, as agent_reasoning
}

TEST(IntentNode, ABadPlanOrAFailedCallIsAClearError) {
  auto bad = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{}, {ContentBlock::makeToolUse("p1", "plan_content", {{"intent", "create"}, {"contentType", "tweet"}, {"reasoning", "x"}})},
       StopReason::ToolUse, {}, {}}});
  IntentNode node(intentConfig(false), std::make_shared<testing::FakeModelCatalogue>(bad));
  Json state = {{"messages", conversation({})}};
  auto update = runNode(node, state);
  EXPECT_EQ(update.status().code(), Code::InvalidArgument);
  EXPECT_NE(update.status().message().find("not \"tweet\""), std::string::npos) << update.status().message();
  EXPECT_NE(update.status().message().find("intent analysis (fake-1)"), std::string::npos);

  auto failing = std::make_shared<testing::FakeModelProvider>(
      std::vector<testing::ScriptedReply>{{{}, {}, StopReason::None, {}, unavailableError("overloaded")}});
  IntentNode down(intentConfig(false), std::make_shared<testing::FakeModelCatalogue>(failing));
  EXPECT_EQ(runNode(down, state).status().code(), Code::Unavailable);
  Json empty = {{"messages", Json::array()}};
  EXPECT_EQ(runNode(down, empty).status().code(), Code::FailedPrecondition);
}

TEST(NormalizePlan, ChecksIntentAndContentType) {
  EXPECT_FALSE(normalizePlan(Json::array(), false).isOk());
  EXPECT_FALSE(normalizePlan({{"intent", "buy"}}, false).isOk());
  auto chat = normalizePlan({{"intent", "chat"}}, true);
  ASSERT_TRUE(chat.isOk());
  EXPECT_EQ((*chat)["webResearch"], false);
}

RevisionConfig revisionConfig() {
  RevisionConfig config;
  config.revise = "revise";
  config.finish = "answer";
  return config;
}

TEST(RevisionRouter, OneRevisionForABrokenDraftThenTheAnswer) {
  RevisionRouter router(revisionConfig());
  Json draft = {{"content", "Subject: Hi"}};
  Json failed = {{"valid", false}, {"violations", {{{"ruleId", "r1"}}}}};
  Json first = {{"messages", conversation({toolRound("w1", "content-execution", {}, draft), toolRound("v1", "validate-content", {}, failed)})}};
  EXPECT_EQ(*router.route(first), std::vector<std::string>{"revise"});
  Json second = {{"messages", conversation({toolRound("w1", "content-execution", {}, draft), toolRound("v1", "validate-content", {}, failed),
                                             toolRound("w2", "content-execution", {}, draft), toolRound("v2", "validate-content", {}, failed)})}};
  EXPECT_EQ(*router.route(second), std::vector<std::string>{"answer"});  // revised once already
  Json passed = {{"messages", conversation({toolRound("w1", "content-execution", {}, draft),
                                             toolRound("v1", "validate-content", {}, Json{{"valid", true}})})}};
  EXPECT_EQ(*router.route(passed), std::vector<std::string>{"answer"});
  Json validatorFailed = {{"messages", conversation({toolRound("w1", "content-execution", {}, draft),
                                                      toolRound("v1", "validate-content", {}, "Error: boom", true)})}};
  EXPECT_EQ(*router.route(validatorFailed), std::vector<std::string>{"answer"});
  EXPECT_EQ(router.route({{"messages", conversation({})}}).status().code(), Code::FailedPrecondition);
}

}  // namespace
}  // namespace mx::marketer
