#include "tavily_search.hpp"

#include <algorithm>

#include "mx_common/retry.hpp"
#include "mx/json_parse.hpp"

namespace mx::tavily {

WebSearchTool::WebSearchTool(TavilyConfig config, std::shared_ptr<HttpClient> http)
    : config_(std::move(config)), http_(std::move(http)) {
  while (!config_.baseUrl.empty() && config_.baseUrl.back() == '/') config_.baseUrl.pop_back();
}

ToolDefinition WebSearchTool::definition() const {
  return {"web-search", "Search the web for real-time information using Tavily",
          Json::parse(R"({"type":"object","properties":{"query":{"type":"string","description":"Search query"},
            "maxResults":{"type":"number","default":10},
            "searchDepth":{"type":"string","enum":["basic","advanced"],"description":"basic=5 sources, advanced=20 sources"}},
            "required":["query"]})")};
}

// A deployment without a Tavily key is healthy: web search is simply off, and
// calls say so.
Status WebSearchTool::health() { return Status::ok(); }

Json WebSearchTool::requestBody(const Json& arguments) const {
  std::string depth = arguments.value("searchDepth", "basic") == "advanced" ? "advanced" : "basic";
  int fallback = depth == "advanced" ? 20 : config_.defaultMaxResults;
  int maxResults = std::clamp(static_cast<int>(arguments.value("maxResults", static_cast<double>(fallback))), 1, 20);
  return {{"query", arguments.value("query", "")}, {"search_depth", depth}, {"max_results", maxResults}, {"include_answer", true}};
}

Result<Json> parseSearchResponse(int status, const std::string& body) {
  Json parsed = parseJson(body);
  if (status != 200) {
    std::string message = body.substr(0, 300);
    if (parsed.is_object() && parsed.contains("detail")) {
      const Json& detail = parsed["detail"];
      message = detail.is_object() ? detail.value("error", detail.dump()) : detail.dump();
    }
    Code code = (status == 432 || status == 433) ? Code::ResourceExhausted : codeForHttpStatus(status);
    return Status(code, "tavily " + std::to_string(status) + ": " + message);
  }
  if (!parsed.is_object() || !parsed.contains("results") || !parsed["results"].is_array()) {
    return unavailableError("tavily answered without a results array");
  }
  Json results = Json::array();
  for (const auto& r : parsed["results"]) {
    results.push_back({{"title", r.value("title", "")}, {"url", r.value("url", "")}, {"content", r.value("content", "")},
                       {"score", r.value("score", 0.0)}});
  }
  Json answer = {{"query", parsed.value("query", "")}, {"results", std::move(results)}};
  if (parsed.contains("answer") && parsed["answer"].is_string()) answer["answer"] = parsed["answer"];
  if (parsed.contains("response_time")) answer["responseTime"] = parsed["response_time"];
  return answer;
}

namespace {

class Collect final : public HttpStreamHandler {
 public:
  explicit Collect(ToolDone done) : done_(std::move(done)) {}
  void onResponseStart(int status, const HttpHeaders&) override { status_ = status; }
  void onBodyData(std::string_view chunk) override { body_.append(chunk); }
  void onComplete(const Status& transport) override {
    if (!transport.isOk()) {
      done_(transport.withContext("tavily"));
      return;
    }
    done_(parseSearchResponse(status_, body_));
  }

 private:
  ToolDone done_;
  int status_ = 0;
  std::string body_;
};

}  // namespace

void WebSearchTool::invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) {
  if (config_.apiKey.empty()) {
    done(failedPreconditionError("web search is disabled: no Tavily API key is configured"));
    return;
  }
  HttpRequest request;
  request.url = config_.baseUrl + "/search";
  request.headers = {{"content-type", "application/json"}, {"authorization", "Bearer " + config_.apiKey}};
  request.body = requestBody(arguments).dump();
  request.totalTimeout = config_.timeout;
  request.idleTimeout = config_.timeout;
  http_->start(std::move(request), std::make_shared<Collect>(std::move(done)), context->cancel);
}

}  // namespace mx::tavily
