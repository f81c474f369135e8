#include "rule_engine.hpp"

#include <gtest/gtest.h>

namespace mx::validate {
namespace {

TEST(RuleEngine, ReportsEachViolationWithRuleAndPosition) {
  std::string draft = "Subject: The most amazing spring sale you will ever see in your whole life\n\nGuaranteed results for all!";
  Json rules = Json::parse(R"([
    {"id":"unsub","type":"required_phrase","phrase":"unsubscribe","message":"Say how to unsubscribe."},
    {"id":"subject","type":"subject_max_chars","value":60},
    {"id":"guarantee","type":"banned_phrase","phrase":"guaranteed results"},
    {"id":"short","type":"max_words","value":10},
    {"id":"no-caps","type":"regex_forbidden","pattern":"\\bAMAZING\\b"},
    "Sound like a friend, not a brochure",
    {"id":"weird","type":"telepathy"}
  ])");
  Json result = validateContent(draft, rules);
  EXPECT_EQ(result["valid"], false);
  std::map<std::string, Json> byRule;
  for (const auto& v : result["violations"]) byRule[v["ruleId"]] = v;
  EXPECT_EQ(byRule.size(), 5u);
  EXPECT_EQ(byRule["unsub"]["message"], "Say how to unsubscribe.");
  EXPECT_EQ(byRule["subject"]["position"], 9);
  EXPECT_EQ(byRule["guarantee"]["position"], static_cast<int64_t>(draft.find("Guaranteed")));
  EXPECT_NE(byRule["short"]["detail"].get<std::string>().find("words (limit 10)"), std::string::npos);
  EXPECT_EQ(byRule["no-caps"]["position"], static_cast<int64_t>(draft.find("amazing")));
  EXPECT_EQ(result["unchecked"].size(), 2u);
}

TEST(RuleEngine, CleanDraftPasses) {
  Json result = validateContent("Subject: Spring sale\n\nHi! Unsubscribe any time.",
                                Json::parse(R"([{"type":"required_phrase","phrase":"unsubscribe"},{"type":"max_chars","value":500},{"type":"regex_required","pattern":"spring"}])"));
  EXPECT_EQ(result["valid"], true);
  EXPECT_TRUE(result["violations"].empty());
  EXPECT_EQ(validateContent("x", Json::parse(R"([{"type":"regex_required","pattern":"("}])"))["unchecked"].size(), 1u);
}

TEST(RuleEngine, TheWritersArtifactIsCheckedWithoutItsMarkers) {
  std::string bare = "Subject: Spring sale\n\nHi there. Unsubscribe any time.";
  std::string wrapped = "<artifact id=\"art_1\" type=\"email\">\n" + bare + "\n</artifact>";
  Json rules = Json::parse(R"([{"id":"starts","type":"regex_required","pattern":"^Subject:"},{"id":"few","type":"max_words","value":8},
                               {"id":"subject","type":"subject_max_chars","value":5},{"id":"no-tags","type":"banned_phrase","phrase":"artifact"}])");
  Json fromWrapped = validateContent(wrapped, rules);
  EXPECT_EQ(fromWrapped, validateContent(bare, rules));  // the same violations at the same positions
  std::map<std::string, Json> byRule;
  for (const auto& v : fromWrapped["violations"]) byRule[v["ruleId"]] = v;
  EXPECT_EQ(byRule.count("starts"), 0u);
  EXPECT_EQ(byRule.count("few"), 0u);  // 8 words: the markers are not counted
  EXPECT_EQ(byRule.count("no-tags"), 0u);
  EXPECT_EQ(byRule["subject"]["position"], 9);
  // Only a whole wrapping is taken off: an opening marker without its closing one is checked as it is.
  Json unclosed = validateContent("<artifact id=\"art_1\">\nSubject: Hi", rules);
  byRule.clear();
  for (const auto& v : unclosed["violations"]) byRule[v["ruleId"]] = v;
  EXPECT_EQ(byRule["no-tags"]["position"], 1);
  EXPECT_EQ(byRule.count("starts"), 1u);
}

}  // namespace
}  // namespace mx::validate
