#include "offline_planner.hpp"

#include <gtest/gtest.h>

#include "request_text.hpp"

namespace mx::offline {
namespace {

std::vector<ToolDefinition> allTools(bool web) {
  std::vector<ToolDefinition> tools;
  for (const char* name : {"fetch-canon", "knowledge-search", "knowledge-fetch", "content-execution", "validate-content"}) {
    tools.push_back({name, "", {{"type", "object"}}});
  }
  if (web) tools.push_back({"web-search", "", {{"type", "object"}}});
  return tools;
}

// Runs the plan to the end, answering each tool call with `results[name]`.
std::vector<PlannedTurn> runPlan(const std::string& userText, bool web, const std::map<std::string, Json>& results) {
  ChatRequest request;
  request.tools = allTools(web);
  request.messages = {{Role::User, {ContentBlock::makeText(userText)}}};
  std::vector<PlannedTurn> turns;
  for (int i = 0; i < 10; ++i) {
    PlannedTurn turn = planNextTurn(request);
    turns.push_back(turn);
    if (!turn.toolCall) break;
    request.messages.push_back({Role::Assistant, {ContentBlock::makeText(turn.text), *turn.toolCall}});
    auto it = results.find(turn.toolCall->name);
    request.messages.push_back(
        {Role::User, {ContentBlock::makeToolResult(turn.toolCall->id, it == results.end() ? "{}" : it->second.dump(), false)}});
  }
  return turns;
}

const Json kCanon = {{"templates", {{{"id", "email-promo"}, {"name", "Promotional email"}, {"body", "Subject: {{subject}}"}}}},
                     {"frameworks", {{{"id", "aida"}, {"lookFor", {"copywriting handbook", "brand voice"}}}}},
                     {"compliance", {{{"id", "unsub"}, {"type", "required_phrase"}, {"phrase", "Unsubscribe"}}}}};

TEST(OfflinePlanner, FollowsTheCanonFirstPlan) {
  auto turns = runPlan("Create an email campaign for our spring sale", true,
                       {{"fetch-canon", kCanon},
                        {"knowledge-search", {{"results", {{{"title", "Handbook"}, {"text", "Write short subject lines."}}}}}},
                        {"content-execution", {{"artifact", "<artifact id=\"art_1\" type=\"email\">\nSubject: Spring Sale\n</artifact>"}}},
                        {"validate-content", {{"valid", true}, {"violations", Json::array()}}}});
  ASSERT_EQ(turns.size(), 6u);
  EXPECT_EQ(turns[0].toolCall->name, "fetch-canon");
  EXPECT_EQ(turns[0].toolCall->input, Json({{"category", "all"}, {"contentType", "email"}}));
  EXPECT_NE(turns[0].text.find("email campaign about spring sale"), std::string::npos) << turns[0].text;
  EXPECT_EQ(turns[1].toolCall->name, "knowledge-search");
  EXPECT_EQ(turns[1].toolCall->input["query"], "spring sale copywriting handbook brand voice");
  EXPECT_NE(turns[1].text.find("The canon says to look for copywriting handbook, brand voice"), std::string::npos);
  EXPECT_EQ(turns[2].toolCall->name, "web-search");
  EXPECT_EQ(turns[3].toolCall->name, "content-execution");
  const Json& brief = turns[3].toolCall->input;
  EXPECT_EQ(brief["contentType"], "email");
  EXPECT_EQ(brief["objective"], "Create an email campaign for our spring sale");
  EXPECT_EQ(brief["templates"][0]["id"], "email-promo");
  EXPECT_EQ(brief["complianceRules"][0]["id"], "unsub");
  EXPECT_NE(brief["brandGuidelines"].get<std::string>().find("Write short subject lines."), std::string::npos);
  EXPECT_EQ(turns[4].toolCall->name, "validate-content");
  EXPECT_EQ(turns[4].toolCall->input["content"], "Subject: Spring Sale");
  EXPECT_FALSE(turns[5].toolCall);
  EXPECT_NE(turns[5].text.find("passes every compliance rule"), std::string::npos) << turns[5].text;
}

TEST(OfflinePlanner, SkipsToolsThatAreNotOffered) {
  auto turns = runPlan("Write a Facebook ad for our new running shoes", false, {{"fetch-canon", kCanon}});
  std::vector<std::string> names;
  for (const auto& t : turns) {
    if (t.toolCall) names.push_back(t.toolCall->name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"fetch-canon", "knowledge-search", "content-execution", "validate-content"}));
  EXPECT_EQ(turns[0].toolCall->input["contentType"], "ad");
}

TEST(OfflinePlanner, ChattingNeedsNoTools) {
  auto turns = runPlan("Hello, who are you?", true, {});
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_FALSE(turns[0].toolCall);
  EXPECT_NE(turns[0].text.find("offline mode"), std::string::npos);
}

TEST(OfflinePlanner, ReportsValidationIssuesAndToolFailures) {
  ChatRequest request;
  request.tools = allTools(false);
  request.messages = {{Role::User, {ContentBlock::makeText("Draft a video script about our app launch")}},
                      {Role::Assistant, {ContentBlock::makeToolUse("t1", "fetch-canon", {{"contentType", "script"}})}},
                      {Role::User, {ContentBlock::makeToolResult("t1", "canon store unavailable", true)}},
                      {Role::Assistant, {ContentBlock::makeToolUse("t2", "knowledge-search", {})}},
                      {Role::User, {ContentBlock::makeToolResult("t2", "{\"results\":[]}", false)}},
                      {Role::Assistant, {ContentBlock::makeToolUse("t3", "content-execution", {})}},
                      {Role::User, {ContentBlock::makeToolResult("t3", R"({"artifact":"<artifact id=\"art_1\" type=\"script\">\nx\n</artifact>"})", false)}},
                      {Role::Assistant, {ContentBlock::makeToolUse("t4", "validate-content", {})}},
                      {Role::User, {ContentBlock::makeToolResult("t4", R"({"valid":false,"violations":[{"message":"missing disclaimer"}]})", false)}}};
  // Validation failed: one revision pass with the violations in the brief...
  PlannedTurn revision = planNextTurn(request);
  ASSERT_TRUE(revision.toolCall);
  EXPECT_EQ(revision.toolCall->name, "content-execution");
  EXPECT_EQ(revision.toolCall->input["revision"]["violations"][0]["message"], "missing disclaimer");
  EXPECT_EQ(revision.toolCall->input["revision"]["previousDraft"], "x");  // the draft without its artifact markers
  EXPECT_NE(revision.text.find("Sending it back to the writer once"), std::string::npos);
  request.messages.push_back({Role::Assistant, {*revision.toolCall}});
  request.messages.push_back({Role::User, {ContentBlock::makeToolResult(revision.toolCall->id, "{\"content\":\"y\"}", false)}});  // another writer's shape
  // ...then the revised draft is validated again...
  PlannedTurn revalidate = planNextTurn(request);
  ASSERT_TRUE(revalidate.toolCall);
  EXPECT_EQ(revalidate.toolCall->name, "validate-content");
  EXPECT_EQ(revalidate.toolCall->input["content"], "y");
  request.messages.push_back({Role::Assistant, {*revalidate.toolCall}});
  request.messages.push_back({Role::User, {ContentBlock::makeToolResult(revalidate.toolCall->id,
      R"({"valid":false,"violations":[{"message":"missing disclaimer"}]})", false)}});
  // ...and no second revision: the answer reports what is left.
  PlannedTurn turn = planNextTurn(request);
  EXPECT_FALSE(turn.toolCall);
  EXPECT_NE(turn.text.find("Validation found 1 issue(s): missing disclaimer."), std::string::npos) << turn.text;
  EXPECT_NE(turn.text.find("The fetch-canon step failed: canon store unavailable"), std::string::npos) << turn.text;
}

TEST(RequestText, ContentTypesTopicsAndAudiences) {
  EXPECT_EQ(detectContentType("Create an email campaign for our spring sale"), "email");
  EXPECT_EQ(detectContentType("We need a landing page for the webinar"), "landing-page");
  EXPECT_EQ(detectContentType("Write a TikTok video script"), "script");
  EXPECT_EQ(detectContentType("Instagram ads for the launch"), "ad");
  EXPECT_EQ(detectContentType("Hello there"), std::nullopt);
  EXPECT_EQ(detectContentType("Add a paddle to the order"), std::nullopt);  // "ad" only as a word
  EXPECT_EQ(extractTopic("Create an email campaign for our spring sale."), "spring sale");
  EXPECT_EQ(extractTopic("Write ads about the new app targeting students"), "new app");
  EXPECT_EQ(extractAudience("Write ads about the new app targeting students"), "students");
  EXPECT_EQ(normalizeToolName("fetch_canon"), "fetch-canon");
}

}  // namespace
}  // namespace mx::offline
