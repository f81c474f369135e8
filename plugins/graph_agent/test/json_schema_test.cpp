#include "json_schema.hpp"

#include <gtest/gtest.h>

namespace mx::agent {
namespace {

const Json kSchema = Json::parse(R"({
  "type": "object",
  "properties": {
    "query": {"type": "string", "minLength": 1},
    "topK": {"type": "number", "minimum": 1, "maximum": 50},
    "searchDepth": {"type": "string", "enum": ["basic", "advanced"]},
    "resourceTypes": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    "strict": {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": false}
  },
  "required": ["query"]
})");

TEST(JsonSchema, AcceptsValidArguments) {
  EXPECT_TRUE(validateAgainstSchema({{"query", "spring sale"}, {"topK", 5}, {"searchDepth", "basic"}, {"resourceTypes", {"handbook"}}}, kSchema).empty());
  EXPECT_TRUE(validateAgainstSchema({{"query", "x"}, {"topK", 2.5}}, kSchema).empty());
}

TEST(JsonSchema, ReportsEveryProblemWithAPointer) {
  auto errors = validateAgainstSchema({{"topK", "five"}, {"searchDepth", "deep"}, {"resourceTypes", {"a", 2, "c", "d"}},
                                       {"strict", {{"n", 1.5}, {"extra", true}}}},
                                      kSchema);
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("/: missing required property \"query\""), std::string::npos) << all;
  EXPECT_NE(all.find("/topK: expected number, got string"), std::string::npos) << all;
  EXPECT_NE(all.find("/searchDepth: must be one of [\"basic\",\"advanced\"], got \"deep\""), std::string::npos) << all;
  EXPECT_NE(all.find("/resourceTypes: must have at most 3 items"), std::string::npos) << all;
  EXPECT_NE(all.find("/resourceTypes/1: expected string, got integer"), std::string::npos) << all;
  EXPECT_NE(all.find("/strict/n: expected integer, got number"), std::string::npos) << all;
  EXPECT_NE(all.find("/strict: unexpected property \"extra\""), std::string::npos) << all;
  EXPECT_EQ(validateAgainstSchema({{"query", ""}, {"topK", 0}}, kSchema).size(), 2u);
  EXPECT_EQ(validateAgainstSchema("text", kSchema), std::vector<std::string>{"/: expected object, got string"});
}

}  // namespace
}  // namespace mx::agent
