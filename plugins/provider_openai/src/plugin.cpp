// Front door of provider_openai: the "openai" model provider (Chat Completions,
// any OpenAI-compatible server) and the "openai-embeddings" embedder.
#include "mx/plugin.hpp"
#include "openai_embedder.hpp"
#include "openai_provider.hpp"

namespace {

mx::ConfigSchema& connectionFields(mx::ConfigSchema& schema) {
  return schema.optional("api_key", mx::ConfigType::String, "", "API key (empty for local servers)")
      .secret()
      .optional("base_url", mx::ConfigType::String, "https://api.openai.com/v1", "API base URL, including /v1")
      .optional("organization", mx::ConfigType::String, "", "OpenAI-Organization header")
      .optional("project", mx::ConfigType::String, "", "OpenAI-Project header")
      .optional("max_retries", mx::ConfigType::Integer, 2, "retries before the first streamed token")
      .optional("retry_initial_ms", mx::ConfigType::Integer, 500, "first backoff delay")
      .optional("retry_max_ms", mx::ConfigType::Integer, 8000, "largest backoff delay")
      .optional("connect_timeout_ms", mx::ConfigType::Integer, 10000, "connect timeout")
      .optional("idle_timeout_ms", mx::ConfigType::Integer, 120000, "longest gap between received bytes");
}

mx::Status validateConnection(const mx::Json& c) {
  std::string url = c["base_url"];
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return mx::invalidArgumentError("base_url must start with http:// or https://, got \"" + url + "\"");
  }
  for (const char* key : {"max_retries", "retry_initial_ms", "retry_max_ms", "connect_timeout_ms", "idle_timeout_ms"}) {
    if (c[key].get<int64_t>() < 0) return mx::invalidArgumentError(std::string(key) + " must not be negative");
  }
  return mx::Status::ok();
}

mx::openai::ConnectionConfig toConnection(const mx::Json& c, const std::string& label) {
  mx::openai::ConnectionConfig connection;
  connection.apiKey = c["api_key"];
  connection.baseUrl = c["base_url"];
  connection.organization = c["organization"];
  connection.project = c["project"];
  connection.retry.maxRetries = c["max_retries"];
  connection.retry.initialDelay = std::chrono::milliseconds(c["retry_initial_ms"].get<int64_t>());
  connection.retry.maxDelay = std::chrono::milliseconds(c["retry_max_ms"].get<int64_t>());
  connection.retry.maxRetryAfter = std::chrono::milliseconds(120000);  // the OpenAI SDK honours up to 2 minutes
  connection.connectTimeout = std::chrono::milliseconds(c["connect_timeout_ms"].get<int64_t>());
  connection.idleTimeout = std::chrono::milliseconds(c["idle_timeout_ms"].get<int64_t>());
  connection.label = label;
  return connection;
}

mx::Status validateChat(const mx::Json& c) {
  MX_RETURN_IF_ERROR(validateConnection(c));
  std::string field = c["max_tokens_field"];
  if (field != "max_tokens" && field != "max_completion_tokens") {
    return mx::invalidArgumentError("max_tokens_field must be \"max_tokens\" or \"max_completion_tokens\"");
  }
  return mx::Status::ok();
}

mx::Status validateEmbeddings(const mx::Json& c) {
  MX_RETURN_IF_ERROR(validateConnection(c));
  std::string format = c["encoding_format"];
  if (format != "base64" && format != "float") {
    return mx::invalidArgumentError("encoding_format must be \"base64\" or \"float\"");
  }
  if (c["dimensions"].get<int64_t>() < 0) return mx::invalidArgumentError("dimensions must not be negative");
  int64_t batch = c["batch_size"];
  if (batch < 1 || batch > 2048) return mx::invalidArgumentError("batch_size must be between 1 and 2048");
  return mx::Status::ok();
}

}  // namespace

MX_PLUGIN("provider_openai", "0.1.0", "OpenAI Chat Completions (and compatible servers) and Embeddings") {
  mx::Factory<mx::ModelProvider> chat;
  chat.name = "openai";
  chat.description = "Chat Completions streaming: OpenAI, Ollama, vLLM, llama.cpp server";
  mx::ConfigSchema chatSchema;
  connectionFields(chatSchema)
      .optional("max_tokens_field", mx::ConfigType::String, "max_completion_tokens",
                "max_completion_tokens (OpenAI) or max_tokens (older compatible servers)")
      .optional("include_usage", mx::ConfigType::Boolean, true, "request the final usage chunk");
  chat.schema = chatSchema;
  chat.validate = validateChat;
  chat.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::ModelProvider>> {
    const mx::Json& c = context.config();
    MX_RETURN_IF_ERROR(validateChat(c));
    mx::openai::ProviderConfig config;
    config.connection = toConnection(c, "[providers." + std::string(context.instanceName()) + "]");
    config.chat.maxTokensField = c["max_tokens_field"];
    config.chat.includeUsage = c["include_usage"];
    return std::unique_ptr<mx::ModelProvider>(
        std::make_unique<mx::openai::OpenAIProvider>(std::move(config), context.httpClient(), context.logger()));
  };
  MX_RETURN_IF_ERROR(registrar.addModelProvider(std::move(chat)));

  mx::Factory<mx::Embedder> embeddings;
  embeddings.name = "openai-embeddings";
  embeddings.description = "Embeddings API (text-embedding-3-large by default)";
  mx::ConfigSchema embeddingSchema;
  connectionFields(embeddingSchema)
      .optional("model", mx::ConfigType::String, "text-embedding-3-large", "embedding model")
      .optional("dimensions", mx::ConfigType::Integer, 1536,
                "vector size (text-embedding-3 models shorten on request; pgvector HNSW indexes allow up to 2000)")
      .optional("encoding_format", mx::ConfigType::String, "base64", "base64 or float")
      .optional("batch_size", mx::ConfigType::Integer, 256, "inputs per request (at most 2048)");
  embeddings.schema = embeddingSchema;
  embeddings.validate = validateEmbeddings;
  embeddings.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Embedder>> {
    const mx::Json& c = context.config();
    MX_RETURN_IF_ERROR(validateEmbeddings(c));
    mx::openai::EmbedderConfig config;
    config.connection = toConnection(c, "[embedders." + std::string(context.instanceName()) + "]");
    config.model = c["model"];
    config.dimensions = c["dimensions"];
    config.base64 = c["encoding_format"] == "base64";
    config.batchSize = c["batch_size"];
    return std::unique_ptr<mx::Embedder>(
        std::make_unique<mx::openai::OpenAIEmbedder>(std::move(config), context.httpClient(), context.logger()));
  };
  return registrar.addEmbedder(std::move(embeddings));
}
