// The Embeddings API (POST {base_url}/embeddings; text-embedding-3-large by
// default) as an mx::Embedder.
//
// Inputs are batched within the documented limits (at most `batchSize`
// inputs and an estimated `maxBatchTokens` tokens per request; a single input
// over 8,192 estimated tokens is refused), results come back in input order,
// float or base64 (little-endian float32) encodings are both decoded, and
// retryable failures are retried with the shared policy.
// Thread-safety: embed() may be called concurrently.
// Blocking: embed() blocks the calling (worker) thread until every batch is
// back; the transfers themselves run on the host's HTTP I/O thread.
#pragma once

#include <memory>

#include "mx/embedder.hpp"
#include "mx/http.hpp"
#include "mx/log.hpp"
#include "openai_provider.hpp"

namespace mx::openai {

struct EmbedderConfig {
  ConnectionConfig connection;
  std::string model = "text-embedding-3-large";
  int dimensions = 1536;        // 0: the model's full size (3,072 for -3-large)
  bool base64 = true;           // encoding_format, as the official SDK defaults
  size_t batchSize = 256;       // the API allows up to 2,048 inputs
  size_t maxBatchTokens = 250000;  // the API allows 300,000 summed per request
};

class OpenAIEmbedder final : public Embedder {
 public:
  OpenAIEmbedder(EmbedderConfig config, std::shared_ptr<HttpClient> http, Logger& logger);

  std::string modelName() const override { return config_.model; }
  int dimensions() const override { return config_.dimensions > 0 ? config_.dimensions : 3072; }
  Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& texts, CancellationToken cancel) override;

  // Split points of `texts` into batches (exposed for tests).
  std::vector<std::pair<size_t, size_t>> plan(const std::vector<std::string>& texts) const;

 private:
  Result<std::vector<std::vector<float>>> embedBatch(const std::vector<std::string>& texts, size_t begin, size_t end,
                                                     const CancellationToken& cancel);

  EmbedderConfig config_;
  std::shared_ptr<HttpClient> http_;
  Logger& logger_;
};

// Conservative token estimate (about 3 characters per token for English;
// fewer for other scripts), used only for batching.
size_t estimateTokens(std::string_view text);

// Parses an embeddings response into vectors ordered by `index`.
Result<std::vector<std::vector<float>>> parseEmbeddings(const std::string& body, size_t expected);

std::vector<float> decodeBase64Floats(std::string_view base64);

}  // namespace mx::openai
