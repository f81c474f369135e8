// Front door of provider_anthropic: the "anthropic" model provider.
#include "anthropic_provider.hpp"
#include "mx/plugin.hpp"

namespace {

mx::Status validateConfig(const mx::Json& c) {
  std::string auth = c["auth"];
  if (auth != "x-api-key" && auth != "bearer") {
    return mx::invalidArgumentError("auth must be \"x-api-key\" or \"bearer\", got \"" + auth + "\"");
  }
  std::string breakpoint = c["conversation_cache"];
  if (breakpoint != "last_user" && breakpoint != "none") {
    return mx::invalidArgumentError("conversation_cache must be \"last_user\" or \"none\", got \"" + breakpoint + "\"");
  }
  std::string url = c["base_url"];
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return mx::invalidArgumentError("base_url must start with http:// or https://, got \"" + url + "\"");
  }
  for (const char* key : {"max_retries", "retry_initial_ms", "retry_max_ms", "connect_timeout_ms", "idle_timeout_ms"}) {
    if (c[key].get<int64_t>() < 0) {
      return mx::invalidArgumentError(std::string(key) + " must not be negative");
    }
  }
  return mx::Status::ok();
}

mx::anthropic::ProviderConfig toProviderConfig(const mx::Json& c, std::string_view instance) {
  mx::anthropic::ProviderConfig config;
  config.apiKey = c["api_key"];
  config.baseUrl = c["base_url"];
  config.version = c["anthropic_version"];
  config.bearerAuth = c["auth"] == "bearer";
  config.betas = c["betas"].get<std::vector<std::string>>();
  config.retry.maxRetries = c["max_retries"];
  config.retry.initialDelay = std::chrono::milliseconds(c["retry_initial_ms"].get<int64_t>());
  config.retry.maxDelay = std::chrono::milliseconds(c["retry_max_ms"].get<int64_t>());
  config.connectTimeout = std::chrono::milliseconds(c["connect_timeout_ms"].get<int64_t>());
  config.idleTimeout = std::chrono::milliseconds(c["idle_timeout_ms"].get<int64_t>());
  config.requestOptions.conversationBreakpoint = c["conversation_cache"] == "none"
                                                     ? mx::anthropic::ConversationBreakpoint::None
                                                     : mx::anthropic::ConversationBreakpoint::LastUserMessage;
  config.label = "[providers." + std::string(instance) + "]";
  return config;
}

}  // namespace

MX_PLUGIN("provider_anthropic", "0.1.0", "Anthropic Messages API (streaming, tools, prompt caching, thinking)") {
  mx::Factory<mx::ModelProvider> factory;
  factory.name = "anthropic";
  factory.description = "Claude models through POST /v1/messages";
  factory.schema =
      mx::ConfigSchema()
          .optional("api_key", mx::ConfigType::String, "", "API key (x-api-key or Bearer)")
          .secret()
          .optional("base_url", mx::ConfigType::String, "https://api.anthropic.com", "API base URL")
          .optional("anthropic_version", mx::ConfigType::String, "2023-06-01", "anthropic-version header")
          .optional("auth", mx::ConfigType::String, "x-api-key", "x-api-key or bearer")
          .optional("betas", mx::ConfigType::StringArray, mx::Json::array(), "anthropic-beta values")
          .optional("max_retries", mx::ConfigType::Integer, 2, "retries before the first streamed token")
          .optional("retry_initial_ms", mx::ConfigType::Integer, 500, "first backoff delay")
          .optional("retry_max_ms", mx::ConfigType::Integer, 8000, "largest backoff delay")
          .optional("connect_timeout_ms", mx::ConfigType::Integer, 10000, "TCP+TLS connect timeout")
          .optional("idle_timeout_ms", mx::ConfigType::Integer, 120000, "longest gap between stream bytes")
          .optional("conversation_cache", mx::ConfigType::String, "last_user",
                    "prompt-cache breakpoint in the conversation: last_user or none");
  factory.validate = validateConfig;
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::ModelProvider>> {
    MX_RETURN_IF_ERROR(validateConfig(context.config()));
    auto config = toProviderConfig(context.config(), context.instanceName());
    if (config.apiKey.empty()) {
      context.logger().warn("no api_key: calls will fail with failed_precondition");
    }
    return std::unique_ptr<mx::ModelProvider>(
        std::make_unique<mx::anthropic::AnthropicProvider>(std::move(config), context.httpClient(), context.logger()));
  };
  return registrar.addModelProvider(std::move(factory));
}
