#include "anthropic_provider.hpp"

#include <random>

#include "anthropic_stream.hpp"

namespace mx::anthropic {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

double unitRandom() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

void addUsage(Usage& total, const Usage& more) {
  total.inputTokens += more.inputTokens;
  total.outputTokens += more.outputTokens;
  total.cacheWrite5mTokens += more.cacheWrite5mTokens;
  total.cacheWrite1hTokens += more.cacheWrite1hTokens;
  total.cacheReadTokens += more.cacheReadTokens;
}

// Reads {"type":"error","error":{"type":..,"message":..},"request_id":..}.
Status errorFromBody(int status, const HttpHeaders& headers, const std::string& body) {
  Json parsed = Json::parse(body, nullptr, false);
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

class Call final : public HttpStreamHandler, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<const ProviderConfig> config, std::shared_ptr<HttpClient> http, Logger& logger,
       HttpRequest request, CacheTtl ttl, std::shared_ptr<ChatObserver> observer, CancellationToken cancel)
      : config_(std::move(config)), http_(std::move(http)), logger_(logger), request_(std::move(request)),
        ttl_(ttl), observer_(std::move(observer)), cancel_(std::move(cancel)) {}

  void begin() {
    auto self = shared_from_this();
    // Cancellation while waiting for a retry must not wait for the timer.
    cancelSubscription_ = cancel_.onCancel([self] {
      self->http_->runAfter(std::chrono::milliseconds(0), [self] {
        if (self->waitingForRetry_) self->complete(cancelledError("cancelled while waiting to retry"));
      });
    });
    attempt();
  }

  void onResponseStart(int status, const HttpHeaders& headers) override {
    status_ = status;
    headers_ = headers;
  }

  void onBodyData(std::string_view chunk) override {
    if (errorBody_.size() < kMaxErrorBody) errorBody_.append(chunk.substr(0, kMaxErrorBody - errorBody_.size()));
  }

  void onEvent(const SseEvent& event) override { accumulator_->onEvent(event); }

  void onComplete(const Status& transport) override {
    if (completed_) return;
    if (transport.code() == Code::Cancelled) {
      complete(cancelledError("cancelled after " + std::to_string(accumulator_->response().streamedChars) +
                              " characters were streamed"));
      return;
    }
    if (transport.isOk() && status_ == 200) {
      finishStream(Status::ok());
    } else if (transport.isOk()) {
      Status error = errorFromBody(status_, headers_, errorBody_);
      if (shouldRetryStatus(status_, headers_) && canRetry()) {
        retry(error, retryAfter(headers_, config_->retry));
      } else {
        complete(error);
      }
    } else if (status_ == 200) {
      finishStream(transport);
    } else if (isRetryable(transport.code()) && canRetry()) {
      retry(transport, std::nullopt);
    } else {
      complete(transport);
    }
  }

 private:
  void attempt() {
    status_ = 0;
    headers_ = {};
    errorBody_.clear();
    accumulator_ = std::make_unique<StreamAccumulator>(observer_.get(), ttl_);
    http_->start(request_, shared_from_this(), cancel_);
  }

  void finishStream(const Status& transport) {
    if (accumulator_->finished()) {
      complete(Status::ok());
      return;
    }
    Status failure = accumulator_->failure();
    if (failure.isOk()) {
      failure = transport.isOk() ? unavailableError("anthropic stream ended before message_stop") : transport;
    }
    if (!accumulator_->emittedDeltas() && isRetryable(failure.code()) && canRetry()) {
      retry(failure, std::nullopt);
      return;
    }
    int64_t chars = accumulator_->response().streamedChars;
    complete(Status(failure.code(), failure.message() + (accumulator_->emittedDeltas()
                                                             ? " (after " + std::to_string(chars) +
                                                                   " characters were streamed; not retried)"
                                                             : "")));
  }

  bool canRetry() const { return retriesDone_ < config_->retry.maxRetries && !cancel_.isCancelled(); }

  void retry(const Status& why, std::optional<std::chrono::milliseconds> serverDelay) {
    auto delay = serverDelay.value_or(backoffDelay(retriesDone_, config_->retry, unitRandom()));
    ++retriesDone_;
    addUsage(usageOfFailedAttempts_, accumulator_->response().usage);
    logger_.warn(config_->label + " " + why.toString() + "; retry " + std::to_string(retriesDone_) + "/" +
                 std::to_string(config_->retry.maxRetries) + " in " + std::to_string(delay.count()) + " ms");
    waitingForRetry_ = true;
    auto self = shared_from_this();
    http_->runAfter(delay, [self] {
      if (!self->waitingForRetry_ || self->completed_) return;
      self->waitingForRetry_ = false;
      if (self->cancel_.isCancelled()) {
        self->complete(cancelledError("cancelled while waiting to retry"));
        return;
      }
      self->attempt();
    });
  }

  void complete(const Status& status) {
    if (completed_) return;
    completed_ = true;
    waitingForRetry_ = false;
    ChatResponse response = accumulator_->takeResponse();
    addUsage(response.usage, usageOfFailedAttempts_);
    auto observer = std::move(observer_);
    observer->onComplete(status, std::move(response));
    // Dropping the subscription from the I/O thread is safe: its callback only posts.
    cancelSubscription_.reset();
  }

  std::shared_ptr<const ProviderConfig> config_;
  std::shared_ptr<HttpClient> http_;
  Logger& logger_;
  HttpRequest request_;
  CacheTtl ttl_;
  std::shared_ptr<ChatObserver> observer_;
  CancellationToken cancel_;
  Subscription cancelSubscription_;
  std::unique_ptr<StreamAccumulator> accumulator_;
  int status_ = 0;
  HttpHeaders headers_;
  std::string errorBody_;
  int retriesDone_ = 0;
  Usage usageOfFailedAttempts_;
  bool waitingForRetry_ = false;
  bool completed_ = false;
};

}  // namespace

AnthropicProvider::AnthropicProvider(ProviderConfig config, std::shared_ptr<HttpClient> http, Logger& logger)
    : http_(std::move(http)), logger_(logger) {
  while (!config.baseUrl.empty() && config.baseUrl.back() == '/') config.baseUrl.pop_back();
  config_ = std::make_shared<const ProviderConfig>(std::move(config));
}

HttpRequest AnthropicProvider::httpRequestFor(const ChatRequest& request) const {
  HttpRequest http;
  http.method = "POST";
  http.url = config_->baseUrl + "/v1/messages";
  http.headers = {{"content-type", "application/json"},
                  {"accept", "text/event-stream"},
                  {"anthropic-version", config_->version}};
  if (config_->bearerAuth) {
    http.headers.emplace_back("authorization", "Bearer " + config_->apiKey);
  } else {
    http.headers.emplace_back("x-api-key", config_->apiKey);
  }
  if (!config_->betas.empty()) {
    std::string joined;
    for (const auto& beta : config_->betas) joined += (joined.empty() ? "" : ",") + beta;
    http.headers.emplace_back("anthropic-beta", joined);
  }
  http.body = buildRequestBody(request, config_->requestOptions).dump();
  http.decodeEventStream = true;
  http.connectTimeout = config_->connectTimeout;
  http.idleTimeout = config_->idleTimeout;
  return http;
}

void AnthropicProvider::chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) {
  if (config_->apiKey.empty()) {
    observer->onComplete(failedPreconditionError(config_->label + " has no API key (set api_key)"), {});
    return;
  }
  CacheTtl ttl = request.cacheTtl;
  auto call = std::make_shared<Call>(config_, http_, logger_, httpRequestFor(request), ttl,
                                     std::move(observer), std::move(cancel));
  call->begin();
}

Status AnthropicProvider::health() {
  if (config_->apiKey.empty()) {
    return failedPreconditionError("no API key configured");
  }
  return Status::ok();
}

}  // namespace mx::anthropic
