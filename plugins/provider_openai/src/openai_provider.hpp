// Chat Completions (OpenAI or any OpenAI-compatible server) as an
// mx::ModelProvider. Same transport and retry behaviour as the Anthropic
// provider (mx_common::StreamingCall); a 429 with code insufficient_quota is
// not retried (waiting does not refill a quota).
// Thread-safety: chat() from any thread; observer callbacks on the HTTP I/O thread.
// Blocking: never.
#pragma once

#include <memory>
#include <string>

#include "mx/http.hpp"
#include "mx/log.hpp"
#include "mx/model.hpp"
#include "mx_common/retry.hpp"
#include "openai_request.hpp"

namespace mx::openai {

struct ConnectionConfig {
  std::string apiKey;                              // empty: no Authorization header (local servers)
  std::string baseUrl = "https://api.openai.com/v1";
  std::string organization;
  std::string project;
  RetryPolicy retry;
  std::chrono::milliseconds connectTimeout{10000};
  std::chrono::milliseconds idleTimeout{120000};
  std::string label = "[providers.openai]";

  std::vector<std::pair<std::string, std::string>> headers() const;
};

struct ProviderConfig {
  ConnectionConfig connection;
  ChatOptions chat;
};

class OpenAIProvider final : public ModelProvider, public SharedRequestChat, public RebuildingChat {
 public:
  OpenAIProvider(ProviderConfig config, std::shared_ptr<HttpClient> http, Logger& logger);

  std::string providerName() const override { return "openai"; }
  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override;
  // Reads the request only while it writes the body.
  void chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                  CancellationToken cancel) override;
  // Keeps `build`, not the body, for retries (SDK 2.1; see RebuildingChat).
  void chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override;

 private:
  void start(const ChatRequest& request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel,
             ChatRequestBuilder rebuild = {});

  std::shared_ptr<const ProviderConfig> config_;
  std::shared_ptr<HttpClient> http_;
  Logger& logger_;
};

// "openai 429 rate_limit_exceeded: ..." from an error response.
Status errorFromResponse(int status, const HttpHeaders& headers, const std::string& body);

}  // namespace mx::openai
