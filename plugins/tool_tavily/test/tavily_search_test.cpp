#include "tavily_search.hpp"

#include <gtest/gtest.h>

namespace mx::tavily {
namespace {

TEST(Tavily, RequestBodyFollowsTheDocumentedFields) {
  WebSearchTool tool({"tvly-x", "http://h/", std::chrono::seconds(1), 5}, nullptr);
  EXPECT_EQ(tool.requestBody({{"query", "q"}}),
            Json({{"query", "q"}, {"search_depth", "basic"}, {"max_results", 5}, {"include_answer", true}}));
  EXPECT_EQ(tool.requestBody({{"query", "q"}, {"searchDepth", "advanced"}})["max_results"], 20);
  EXPECT_EQ(tool.requestBody({{"query", "q"}, {"maxResults", 50}})["max_results"], 20);
}

TEST(Tavily, ResponsesAndErrors) {
  auto ok = parseSearchResponse(200, R"({"query":"What is Tavily?","follow_up_questions":null,"answer":null,"images":[],
    "results":[{"title":"Tavily","url":"https://tavily.com","content":"Connect Your LLM","score":0.99,"raw_content":null}],"response_time":1.5})");
  ASSERT_TRUE(ok.isOk());
  EXPECT_EQ((*ok)["results"][0]["url"], "https://tavily.com");
  EXPECT_EQ((*ok)["responseTime"], 1.5);
  EXPECT_EQ(parseSearchResponse(401, R"({"detail":{"error":"Unauthorized: missing or invalid API key"}})").status().toString(),
            "unauthenticated: tavily 401: Unauthorized: missing or invalid API key");
  EXPECT_EQ(parseSearchResponse(432, R"({"detail":{"error":"plan limit"}})").status().code(), Code::ResourceExhausted);
  EXPECT_EQ(parseSearchResponse(429, "{}").status().code(), Code::ResourceExhausted);
  EXPECT_EQ(parseSearchResponse(500, "oops").status().code(), Code::Unavailable);
  EXPECT_EQ(parseSearchResponse(200, "{}").status().code(), Code::Unavailable);
}

TEST(Tavily, DisabledWithoutAKey) {
  WebSearchTool tool({}, nullptr);
  EXPECT_TRUE(tool.health().isOk());  // off, not broken
  Result<Json> result = Json();
  tool.invoke({{"query", "x"}}, std::make_shared<ToolContext>(), [&](Result<Json> r) { result = std::move(r); });
  EXPECT_EQ(result.status().code(), Code::FailedPrecondition);
}

}  // namespace
}  // namespace mx::tavily
