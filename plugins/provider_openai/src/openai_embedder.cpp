#include "openai_embedder.hpp"

#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "mx_common/retry.hpp"
#include "mx/json_parse.hpp"

namespace mx::openai {

namespace {

constexpr size_t kMaxInputTokens = 8192;

class BufferingHandler final : public HttpStreamHandler {
 public:
  struct Outcome {
    Status transport;
    int status = 0;
    HttpHeaders headers;
    std::string body;
  };
  std::future<Outcome> future() { return promise_.get_future(); }
  void onResponseStart(int status, const HttpHeaders& headers) override {
    outcome_.status = status;
    outcome_.headers = headers;
  }
  void onBodyData(std::string_view chunk) override { outcome_.body.append(chunk); }
  void onComplete(const Status& transport) override {
    outcome_.transport = transport;
    promise_.set_value(std::move(outcome_));
  }

 private:
  Outcome outcome_;
  std::promise<Outcome> promise_;
};

double unitRandom() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace

size_t estimateTokens(std::string_view text) { return text.size() / 3 + 1; }

std::vector<float> decodeBase64Floats(std::string_view base64) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  bytes.reserve(base64.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : base64) {
    if (c == '=') break;
    auto value = alphabet.find(c);
    if (value == std::string::npos) continue;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);  // x86-64 is little-endian, like the wire format
  return out;
}

Result<std::vector<std::vector<float>>> parseEmbeddings(const std::string& body, size_t expected) {
  Json parsed = parseJson(body);
  if (!parsed.is_object() || !parsed.contains("data") || !parsed["data"].is_array()) {
    return unavailableError("embeddings response has no data array");
  }
  std::vector<std::vector<float>> vectors(expected);
  for (const auto& item : parsed["data"]) {
    size_t index = item.value("index", expected);
    if (index >= expected || !item.contains("embedding")) {
      return unavailableError("embeddings response has an item with a bad index");
    }
    const Json& embedding = item["embedding"];
    vectors[index] = embedding.is_string() ? decodeBase64Floats(embedding.get<std::string>())
                                           : embedding.get<std::vector<float>>();
  }
  for (const auto& vector : vectors) {
    if (vector.empty()) return unavailableError("embeddings response is missing an input's vector");
  }
  return vectors;
}

OpenAIEmbedder::OpenAIEmbedder(EmbedderConfig config, std::shared_ptr<HttpClient> http, Logger& logger)
    : config_(std::move(config)), http_(std::move(http)), logger_(logger) {
  while (!config_.connection.baseUrl.empty() && config_.connection.baseUrl.back() == '/') config_.connection.baseUrl.pop_back();
}

std::vector<std::pair<size_t, size_t>> OpenAIEmbedder::plan(const std::vector<std::string>& texts) const {
  std::vector<std::pair<size_t, size_t>> batches;
  size_t begin = 0;
  size_t tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    size_t estimate = estimateTokens(texts[i]);
    if (i > begin && (i - begin >= config_.batchSize || tokens + estimate > config_.maxBatchTokens)) {
      batches.emplace_back(begin, i);
      begin = i;
      tokens = 0;
    }
    tokens += estimate;
  }
  if (begin < texts.size()) batches.emplace_back(begin, texts.size());
  return batches;
}

Result<std::vector<std::vector<float>>> OpenAIEmbedder::embed(const std::vector<std::string>& texts,
                                                             CancellationToken cancel) {
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) return invalidArgumentError("input " + std::to_string(i) + " is empty");
    if (estimateTokens(texts[i]) > kMaxInputTokens) {
      return invalidArgumentError("input " + std::to_string(i) + " is longer than the model's 8192-token limit");
    }
  }
  std::vector<std::vector<float>> all;
  all.reserve(texts.size());
  for (auto [begin, end] : plan(texts)) {
    if (cancel.isCancelled()) return cancelledError("embedding cancelled");
    auto batch = embedBatch(texts, begin, end, cancel);
    if (!batch) return batch.status();
    for (auto& vector : *batch) all.push_back(std::move(vector));
  }
  return all;
}

Result<std::vector<std::vector<float>>> OpenAIEmbedder::embedBatch(const std::vector<std::string>& texts, size_t begin,
                                                                   size_t end, const CancellationToken& cancel) {
  Json body = {{"model", config_.model},
               {"input", std::vector<std::string>(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                                  texts.begin() + static_cast<std::ptrdiff_t>(end))},
               {"encoding_format", config_.base64 ? "base64" : "float"}};
  if (config_.dimensions > 0) body["dimensions"] = config_.dimensions;
  HttpRequest request;
  request.url = config_.connection.baseUrl + "/embeddings";
  request.headers = config_.connection.headers();
  request.body = body.dump();
  request.connectTimeout = config_.connection.connectTimeout;
  request.idleTimeout = config_.connection.idleTimeout;
  for (int attempt = 0;; ++attempt) {
    auto handler = std::make_shared<BufferingHandler>();
    auto future = handler->future();
    http_->start(request, handler, cancel);
    auto outcome = future.get();
    Status failure;
    std::optional<std::chrono::milliseconds> serverDelay;
    bool retryable = false;
    if (!outcome.transport.isOk()) {
      failure = outcome.transport;
      retryable = isRetryable(failure.code());
    } else if (outcome.status == 200) {
      return parseEmbeddings(outcome.body, end - begin);
    } else {
      failure = errorFromResponse(outcome.status, outcome.headers, outcome.body);
      retryable = shouldRetryStatus(outcome.status, outcome.headers) &&
                  outcome.body.find("insufficient_quota") == std::string::npos;
      serverDelay = retryAfter(outcome.headers, config_.connection.retry);
    }
    if (!retryable || attempt >= config_.connection.retry.maxRetries || cancel.isCancelled()) {
      return failure;
    }
    auto delay = serverDelay.value_or(backoffDelay(attempt, config_.connection.retry, unitRandom()));
    logger_.warn(config_.connection.label + " " + failure.toString() + "; retry in " + std::to_string(delay.count()) + " ms");
    std::this_thread::sleep_for(delay);  // embed() is documented as blocking its worker
  }
}

}  // namespace mx::openai
