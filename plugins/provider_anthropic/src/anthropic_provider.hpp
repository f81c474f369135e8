// The Anthropic Messages API as an mx::ModelProvider.
//
// Each chat() is one streaming POST /v1/messages through the host's shared
// HttpClient (no thread per call). Failures before anything reached the
// observer are retried with the policy's backoff (honouring retry-after-ms /
// retry-after; 408, 409, 429, 5xx, 529 and mid-stream overloaded errors; never
// 400/401/403/404); once deltas were delivered a failure ends the call with a
// message that says how much was streamed. Usage of failed attempts is added
// to the final usage so that spend is never under-counted.
// The "tools" text of a request is kept per ToolSet (a node offers the same
// set on every call): written once, not per call.
// Thread-safety: chat() from any thread; observer callbacks on the HTTP I/O thread.
// Blocking: never.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "anthropic_request.hpp"
#include "mx/http.hpp"
#include "mx/log.hpp"
#include "mx/model.hpp"
#include "mx_common/retry.hpp"

namespace mx::anthropic {

struct ProviderConfig {
  std::string apiKey;
  std::string baseUrl = "https://api.anthropic.com";
  std::string version = "2023-06-01";
  bool bearerAuth = false;            // Authorization: Bearer instead of x-api-key
  std::vector<std::string> betas;     // anthropic-beta
  RetryPolicy retry;
  std::chrono::milliseconds connectTimeout{10000};
  std::chrono::milliseconds idleTimeout{120000};
  RequestOptions requestOptions;
  std::string label = "[providers.anthropic]";
};

class AnthropicProvider final : public ModelProvider, public SharedRequestChat, public RebuildingChat {
 public:
  AnthropicProvider(ProviderConfig config, std::shared_ptr<HttpClient> http, Logger& logger);

  std::string providerName() const override { return "anthropic"; }
  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override;
  // Reads the request only while it writes the body.
  void chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                  CancellationToken cancel) override;
  // Keeps `build`, not the body, for retries (SDK 2.1; see RebuildingChat).
  void chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override;
  Status health() override;

  HttpRequest httpRequestFor(const ChatRequest& request) const;

 private:
  void start(const ChatRequest& request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel,
             ChatRequestBuilder rebuild = {});
  std::shared_ptr<const std::string> toolsTextFor(const ChatRequest& request) const;

  struct ToolsText {
    std::shared_ptr<const std::vector<ToolDefinition>> tools;  // held: its address stays this set's
    bool breakpoint;
    CacheTtl ttl;
    std::shared_ptr<const std::string> text;
  };
  static constexpr size_t kMostToolsTexts = 32;
  mutable std::mutex toolsMutex_;
  mutable std::vector<ToolsText> toolsTexts_;

  std::shared_ptr<const ProviderConfig> config_;  // shared with in-flight calls
  std::shared_ptr<HttpClient> http_;
  Logger& logger_;
};

}  // namespace mx::anthropic
