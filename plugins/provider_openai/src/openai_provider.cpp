#include "openai_provider.hpp"

#include "mx_common/chat_call.hpp"
#include "openai_stream.hpp"
#include "mx/json_parse.hpp"

namespace mx::openai {

std::vector<std::pair<std::string, std::string>> ConnectionConfig::headers() const {
  std::vector<std::pair<std::string, std::string>> out = {{"content-type", "application/json"}};
  if (!apiKey.empty()) out.emplace_back("authorization", "Bearer " + apiKey);
  if (!organization.empty()) out.emplace_back("openai-organization", organization);
  if (!project.empty()) out.emplace_back("openai-project", project);
  return out;
}

Status errorFromResponse(int status, const HttpHeaders& headers, const std::string& body) {
  Json parsed = parseJson(body);
  Json error = parsed.is_object() && parsed.contains("error") ? parsed["error"] : Json();
  std::string code = error.is_object() && error.contains("code") && error["code"].is_string() ? error["code"].get<std::string>()
                     : error.is_object() ? error.value("type", "http_error")
                                         : "http_error";
  std::string message = error.is_object() ? error.value("message", "") : body.substr(0, 500);
  std::string requestId(headers.find("x-request-id").value_or(""));
  return Status(codeForError(status, error), "openai " + std::to_string(status) + " " + code + ": " + message +
                                                 (requestId.empty() ? "" : " (request-id " + requestId + ")"));
}

namespace {


class Call final : public common::ChatCall<ChatStreamAccumulator> {
 public:
  Call(std::shared_ptr<const ProviderConfig> config, std::shared_ptr<HttpClient> http, Logger& logger,
       HttpRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel)
      : ChatCall(std::move(http), logger, config->connection.label, config->connection.retry, std::move(request),
                 std::move(observer), std::move(cancel)),
        config_(std::move(config)) {}

 protected:
  void startAttempt() override { accumulator_ = std::make_unique<ChatStreamAccumulator>(observer_.get()); }
  std::string endMarker() const override { return "[DONE]"; }
  Status errorFromResponse(int status, const HttpHeaders& headers, const std::string& body) const override {
    return openai::errorFromResponse(status, headers, body);
  }
  bool shouldRetryResponse(int status, const HttpHeaders& headers, const std::string& body) const override {
    return body.find("insufficient_quota") == std::string::npos && StreamingCall::shouldRetryResponse(status, headers, body);
  }

 private:
  std::shared_ptr<const ProviderConfig> config_;
};

}  // namespace

OpenAIProvider::OpenAIProvider(ProviderConfig config, std::shared_ptr<HttpClient> http, Logger& logger)
    : http_(std::move(http)), logger_(logger) {
  while (!config.connection.baseUrl.empty() && config.connection.baseUrl.back() == '/') config.connection.baseUrl.pop_back();
  config_ = std::make_shared<const ProviderConfig>(std::move(config));
}

namespace {

HttpRequest httpRequestWith(const ProviderConfig& config, const ChatRequest& request) {
  const ConnectionConfig& connection = config.connection;
  HttpRequest http;
  http.url = connection.baseUrl + "/chat/completions";
  http.headers = connection.headers();
  http.headers.emplace_back("accept", "text/event-stream");
  http.body = buildChatBody(request, config.chat).dump();
  http.decodeEventStream = true;
  http.connectTimeout = connection.connectTimeout;
  http.idleTimeout = connection.idleTimeout;
  return http;
}

}  // namespace

void OpenAIProvider::chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) {
  start(request, std::move(observer), std::move(cancel));
}

void OpenAIProvider::chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                                CancellationToken cancel) {
  start(*request, std::move(observer), std::move(cancel));
}

void OpenAIProvider::chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) {
  start(build(), std::move(observer), std::move(cancel), build);
}

void OpenAIProvider::start(const ChatRequest& request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel,
                           ChatRequestBuilder rebuild) {
  auto call = std::make_shared<Call>(config_, http_, logger_, httpRequestWith(*config_, request), std::move(observer), std::move(cancel));
  if (rebuild) {
    // A retry writes the body again from a new build, on the I/O thread.
    call->rebuildRequestWith([config = config_, rebuild = std::move(rebuild)] { return httpRequestWith(*config, rebuild()); });
  }
  call->begin();
}

}  // namespace mx::openai
