#include "anthropic_provider.hpp"

#include "anthropic_stream.hpp"
#include "mx_common/chat_call.hpp"
#include "mx/json_parse.hpp"

namespace mx::anthropic {

namespace {


// Reads {"type":"error","error":{"type":..,"message":..},"request_id":..}.
Status errorFromBody(int status, const HttpHeaders& headers, const std::string& body) {
  Json parsed = parseJson(body);
  std::string type = "http_error";
  std::string message = body.substr(0, 500);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
    type = parsed["error"].value("type", type);
    message = parsed["error"].value("message", message);
  }
  std::string requestId(headers.find("request-id").value_or(""));
  if (requestId.empty() && parsed.is_object()) {
    requestId = parsed.value("request_id", "");
  }
  return Status(codeForHttpStatus(status), "anthropic " + std::to_string(status) + " " + type + ": " + message +
                                               (requestId.empty() ? "" : " (request-id " + requestId + ")"));
}

class Call final : public common::ChatCall<StreamAccumulator> {
 public:
  Call(std::shared_ptr<const ProviderConfig> config, std::shared_ptr<HttpClient> http, Logger& logger,
       HttpRequest request, CacheTtl ttl, std::shared_ptr<ChatObserver> observer, CancellationToken cancel)
      : ChatCall(std::move(http), logger, config->label, config->retry, std::move(request), std::move(observer), std::move(cancel)),
        config_(std::move(config)), ttl_(ttl) {}

 protected:
  void startAttempt() override { accumulator_ = std::make_unique<StreamAccumulator>(observer_.get(), ttl_); }
  std::string endMarker() const override { return "message_stop"; }
  Status errorFromResponse(int status, const HttpHeaders& headers, const std::string& body) const override {
    return errorFromBody(status, headers, body);
  }

 private:
  std::shared_ptr<const ProviderConfig> config_;
  CacheTtl ttl_;
};

}  // namespace

AnthropicProvider::AnthropicProvider(ProviderConfig config, std::shared_ptr<HttpClient> http, Logger& logger)
    : http_(std::move(http)), logger_(logger) {
  while (!config.baseUrl.empty() && config.baseUrl.back() == '/') config.baseUrl.pop_back();
  config_ = std::make_shared<const ProviderConfig>(std::move(config));
}

namespace {

// `toolsText`: the request's tool definitions as JSON text (toolsTextFor), null without tools.
HttpRequest httpRequestWith(const ProviderConfig& config, const ChatRequest& request,
                            const std::shared_ptr<const std::string>& toolsText) {
  HttpRequest http;
  http.method = "POST";
  http.url = config.baseUrl + "/v1/messages";
  http.headers = {{"content-type", "application/json"},
                  {"accept", "text/event-stream"},
                  {"anthropic-version", config.version}};
  if (config.bearerAuth) {
    http.headers.emplace_back("authorization", "Bearer " + config.apiKey);
  } else {
    http.headers.emplace_back("x-api-key", config.apiKey);
  }
  if (!config.betas.empty()) {
    std::string joined;
    for (const auto& beta : config.betas) joined += (joined.empty() ? "" : ",") + beta;
    http.headers.emplace_back("anthropic-beta", joined);
  }
  http.body = buildRequestBody(request, config.requestOptions, toolsText ? std::string_view(*toolsText) : std::string_view());
  http.decodeEventStream = true;
  http.connectTimeout = config.connectTimeout;
  http.idleTimeout = config.idleTimeout;
  return http;
}

}  // namespace

HttpRequest AnthropicProvider::httpRequestFor(const ChatRequest& request) const {
  return httpRequestWith(*config_, request, toolsTextFor(request));
}

std::shared_ptr<const std::string> AnthropicProvider::toolsTextFor(const ChatRequest& request) const {
  if (request.tools.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(toolsMutex_);
  for (const auto& kept : toolsTexts_) {
    if (kept.tools.get() == request.tools.identity() && kept.breakpoint == request.cacheSystemAndTools &&
        kept.ttl == request.cacheTtl) {
      return kept.text;
    }
  }
  if (toolsTexts_.size() >= kMostToolsTexts) toolsTexts_.clear();  // more sets than nodes: requests that build their own
  auto text = std::make_shared<const std::string>(toolsJson(request));
  toolsTexts_.push_back({request.tools.shared(), request.cacheSystemAndTools, request.cacheTtl, text});
  return text;
}

void AnthropicProvider::chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) {
  start(request, std::move(observer), std::move(cancel));
}

void AnthropicProvider::chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                                   CancellationToken cancel) {
  start(*request, std::move(observer), std::move(cancel));
}

void AnthropicProvider::chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer,
                                       CancellationToken cancel) {
  start(build(), std::move(observer), std::move(cancel), build);
}

void AnthropicProvider::start(const ChatRequest& request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel,
                              ChatRequestBuilder rebuild) {
  if (config_->apiKey.empty()) {
    observer->onComplete(failedPreconditionError(config_->label + " has no API key (set api_key)"), {});
    return;
  }
  CacheTtl ttl = request.cacheTtl;
  auto tools = toolsTextFor(request);
  auto call = std::make_shared<Call>(config_, http_, logger_, httpRequestWith(*config_, request, tools), ttl,
                                     std::move(observer), std::move(cancel));
  if (rebuild) {
    // A retry writes the body again from a new build, with the tools' text of this one (the same
    // node offers the same tools), on the I/O thread; the provider itself is not needed for it.
    call->rebuildRequestWith([config = config_, tools, rebuild = std::move(rebuild)] {
      return httpRequestWith(*config, rebuild(), tools);
    });
  }
  call->begin();
}

Status AnthropicProvider::health() {
  if (config_->apiKey.empty()) {
    return failedPreconditionError("no API key configured");
  }
  return Status::ok();
}

}  // namespace mx::anthropic
