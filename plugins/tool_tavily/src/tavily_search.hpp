// web-search on Tavily: POST {base_url}/search with a Bearer key,
// search_depth basic (5 sources) or advanced (up to 20), max_results; errors
// ({"detail":{"error":...}}) mapped to canonical codes (401 Unauthenticated,
// 429/432/433 ResourceExhausted, 5xx Unavailable). Without a key the tool is
// disabled cleanly: calls answer FailedPrecondition (the model sees a tool
// error) and health stays OK (off is not broken).
// Thread-safety: invoke() concurrently. Blocking: never (host HTTP client).
#pragma once

#include <memory>
#include <string>

#include "mx/http.hpp"
#include "mx/tool.hpp"

namespace mx::tavily {

struct TavilyConfig {
  std::string apiKey;
  std::string baseUrl = "https://api.tavily.com";
  std::chrono::milliseconds timeout{60000};
  int defaultMaxResults = 5;
};

class WebSearchTool final : public Tool {
 public:
  WebSearchTool(TavilyConfig config, std::shared_ptr<HttpClient> http);
  ToolDefinition definition() const override;
  void invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) override;
  Status health() override;

  Json requestBody(const Json& arguments) const;

 private:
  TavilyConfig config_;
  std::shared_ptr<HttpClient> http_;
};

// The tool's answer from a Tavily response body.
Result<Json> parseSearchResponse(int status, const std::string& body);

}  // namespace mx::tavily
