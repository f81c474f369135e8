// provider_openai against a local server speaking the Chat Completions and
// Embeddings wire formats (recorded fixtures replayed byte for byte).
#include <gtest/gtest.h>

#include <future>
#include <random>

#include "api_mock.hpp"
#include "rebuilding_call_checks.hpp"
#include "net/curl_http_client.hpp"
#include "net/sse_decoder.hpp"
#include "openai_embedder.hpp"
#include "openai_provider.hpp"
#include "openai_stream.hpp"
#include "runtime/logging.hpp"

namespace mx::openai {
namespace {

using namespace std::chrono_literals;
using mx::test::MockHttpServer;
using mx::test::MockRequest;
using mx::test::MockResponse;
using mx::test::sequence;
using mx::test::sseFixture;
using mx::test::streamSse;

struct Result {
  Status status;
  ChatResponse response;
  std::string text;
};

struct Waiter final : ChatObserver {
  std::string text;
  std::promise<Result> promise;
  void onTextDelta(std::string_view t) override { text += t; }
  void onComplete(const Status& s, ChatResponse r) override { promise.set_value({s, std::move(r), text}); }
};

class OpenAITest : public ::testing::Test {
 protected:
  void serve(MockHttpServer::Handler handler) { server_ = std::make_unique<MockHttpServer>(std::move(handler)); }

  ConnectionConfig connection() {
    ConnectionConfig c;
    c.apiKey = "sk-test";
    c.baseUrl = server_->baseUrl() + "/v1";
    c.retry.initialDelay = 20ms;
    c.retry.maxDelay = 100ms;
    return c;
  }

  OpenAIProvider& provider(ConnectionConfig c) {
    provider_ = std::make_unique<OpenAIProvider>(ProviderConfig{std::move(c), {}}, http_, logger_);
    return *provider_;
  }
  OpenAIProvider& provider() { return provider(connection()); }

  Result call(OpenAIProvider& p, ChatRequest r) {
    auto waiter = std::make_shared<Waiter>();
    auto future = waiter->promise.get_future();
    p.chat(std::move(r), waiter, {});
    EXPECT_EQ(future.wait_for(15s), std::future_status::ready);
    return future.get();
  }

  static ChatRequest request(const std::string& text = "What is the capital of the UK? Use the tool, then answer.") {
    ChatRequest r;
    r.model = "gpt-4o-mini";
    r.messages = {{Role::User, {ContentBlock::makeText(text)}}};
    return r;
  }

  std::shared_ptr<host::LogOutput> log_ = std::make_shared<host::LogOutput>(LogLevel::Error, false);
  host::SourceLogger logger_{log_, "test"};
  std::shared_ptr<host::CurlHttpClient> http_ =
      std::make_shared<host::CurlHttpClient>(std::make_shared<host::SourceLogger>(log_, "http"), host::CurlHttpClient::Options{});
  std::unique_ptr<MockHttpServer> server_;
  std::unique_ptr<OpenAIProvider> provider_;
};

struct Trace : ChatObserver {
  std::string trace;
  void onTextDelta(std::string_view t) override { trace += "T" + std::string(t); }
  void onToolCallStart(int i, std::string_view id, std::string_view n) override {
    trace += "S" + std::to_string(i) + std::string(id) + std::string(n);
  }
  void onToolCallDelta(int i, std::string_view p) override { trace += "J" + std::to_string(i) + std::string(p); }
  void onComplete(const Status&, ChatResponse) override {}
};

std::string replay(const std::vector<std::string>& chunks) {
  Trace trace;
  ChatStreamAccumulator accumulator(&trace);
  host::SseDecoder decoder;
  for (const auto& chunk : chunks) decoder.feed(chunk, [&](const SseEvent& e) { accumulator.onEvent(e); });
  ChatResponse r = accumulator.takeResponse();
  Json blocks = Json::array();
  for (const auto& b : r.message.content) blocks.push_back({b.text, b.id, b.name, b.input});
  return trace.trace + "|" + std::to_string(accumulator.finished()) + accumulator.failure().toString() + "|" +
         blocks.dump() + "|" + std::to_string(r.usage.inputTokens) + "," + std::to_string(r.usage.cacheReadTokens) + "," +
         std::to_string(r.usage.outputTokens) + "|" + std::to_string(static_cast<int>(r.stopReason));
}

TEST(OpenAIReplay, EveryFixtureGivesTheSameResultUnderEverySplit) {
  std::mt19937 random(99);
  for (const char* name : {"openai-chat-tool-call-gpt-4o-mini.sse", "openai-chat-text-after-tool-gpt-4o-mini.sse",
                           "openai-chat-parallel-tool-calls.sse", "openai-chat-include-usage-cached.sse"}) {
    std::string body = sseFixture(name);
    std::string whole = replay({body});
    for (size_t cut = 1; cut < body.size(); cut += 3) {
      ASSERT_EQ(replay({body.substr(0, cut), body.substr(cut)}), whole) << name << " cut " << cut;
    }
    for (int round = 0; round < 200; ++round) {
      std::vector<size_t> offsets;
      for (int i = 0, n = 1 + static_cast<int>(random() % 50); i < n; ++i) offsets.push_back(random() % body.size());
      std::sort(offsets.begin(), offsets.end());
      ASSERT_EQ(replay(mx::test::splitAt(body, offsets)), whole) << name << " round " << round;
    }
  }
}

TEST_F(OpenAITest, ToolCallRoundTripWithUsage) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-tool-call-gpt-4o-mini.sse"), 50); },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-text-after-tool-gpt-4o-mini.sse"), 50); }}));
  auto& p = provider();
  ChatRequest first = request();
  first.tools = {{"get_capital", "", {{"type", "object"}, {"properties", {{"country", {{"type", "string"}}}}}, {"required", {"country"}}}}};
  auto turn1 = call(p, first);
  ASSERT_TRUE(turn1.status.isOk()) << turn1.status.toString();
  EXPECT_EQ(turn1.response.stopReason, StopReason::ToolUse);
  ASSERT_EQ(turn1.response.message.content.size(), 1u);
  EXPECT_EQ(turn1.response.message.content[0].id, "call_ZR5UUuTt3pf61kjwAJIYdVMj");
  EXPECT_EQ(turn1.response.message.content[0].input, Json({{"country", "UK"}}));
  EXPECT_EQ(turn1.response.usage.inputTokens, 53);
  EXPECT_EQ(turn1.response.usage.outputTokens, 15);
  auto sent = server_->requests().at(0);
  EXPECT_EQ(sent.path, "/v1/chat/completions");
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-test");
  EXPECT_EQ(Json::parse(sent.body)["stream_options"]["include_usage"], true);

  ChatRequest second = first;
  second.messages.push_back(turn1.response.message);
  second.messages.push_back({Role::User, {ContentBlock::makeToolResult("call_ZR5UUuTt3pf61kjwAJIYdVMj", "London", false)}});
  auto turn2 = call(p, second);
  ASSERT_TRUE(turn2.status.isOk());
  EXPECT_NE(turn2.text.find("London"), std::string::npos) << turn2.text;
  EXPECT_EQ(turn2.response.stopReason, StopReason::EndTurn);
  auto body = Json::parse(server_->requests().at(1).body);
  EXPECT_EQ(body["messages"][1]["tool_calls"][0]["id"], "call_ZR5UUuTt3pf61kjwAJIYdVMj");
  EXPECT_EQ(body["messages"][2], Json({{"role", "tool"}, {"tool_call_id", "call_ZR5UUuTt3pf61kjwAJIYdVMj"}, {"content", "London"}}));
}

TEST_F(OpenAITest, ParallelToolCallsAndCachedTokens) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-parallel-tool-calls.sse"), 17); },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-include-usage-cached.sse"), 40); }}));
  auto& p = provider();
  auto parallel = call(p, request());
  ASSERT_TRUE(parallel.status.isOk()) << parallel.status.toString();
  ASSERT_EQ(parallel.response.message.content.size(), 2u);
  EXPECT_NE(parallel.response.message.content[0].id, parallel.response.message.content[1].id);
  auto cached = call(p, request());
  ASSERT_TRUE(cached.status.isOk());
  EXPECT_EQ(cached.response.usage.cacheReadTokens, 1280);
}

TEST_F(OpenAITest, RetriesRateLimitsAndServerErrorsButNotQuotaOrAuth) {
  serve(sequence({[](const MockRequest&, MockResponse& r) {
                    r.send(429, {{"retry-after-ms", "30"}, {"Content-Type", "application/json"}},
                           R"({"error":{"message":"Rate limit reached for gpt-4o-mini","type":"tokens","param":null,"code":"rate_limit_exceeded"}})");
                  },
                  [](const MockRequest&, MockResponse& r) {
                    r.send(500, {}, R"({"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}})");
                  },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-text-after-tool-gpt-4o-mini.sse")); },
                  [](const MockRequest&, MockResponse& r) {
                    r.send(429, {}, R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})");
                  },
                  [](const MockRequest&, MockResponse& r) { mx::test::sendRecordedError(r, "openai-error-401.json"); }}));
  auto& p = provider();
  ASSERT_TRUE(call(p, request()).status.isOk());
  EXPECT_EQ(server_->requestCount(), 3u);
  auto quota = call(p, request());
  EXPECT_EQ(quota.status.code(), Code::ResourceExhausted);
  EXPECT_EQ(server_->requestCount(), 4u);
  auto auth = call(p, request());
  EXPECT_EQ(auth.status.code(), Code::Unauthenticated);
  EXPECT_NE(auth.status.message().find("openai 401 invalid_api_key: Incorrect API key provided"), std::string::npos)
      << auth.status.message();
  EXPECT_EQ(server_->requestCount(), 5u);
}

// Given a way to build its request (RebuildingChat), a call keeps that for
// its retries instead of the body, and writes the same body again.
TEST_F(OpenAITest, ARebuildingCallRetriesWithTheSameBodyBuiltAgain) {
  serve(sequence({[](const MockRequest&, MockResponse& r) {
                    r.send(500, {}, R"({"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}})");
                  },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-text-after-tool-gpt-4o-mini.sse")); }}));
  ChatRequest withTools = request();
  withTools.tools = ToolSet{{"search", "Searches", Json::parse(R"({"type":"object"})")}};
  std::string body = mx::test::expectARetryToSendTheSameBodyBuiltAgain<Waiter>(provider(), *server_, withTools);
  EXPECT_EQ(Json::parse(body)["tools"][0]["function"]["name"], "search");
}

TEST_F(OpenAITest, ARebuildingCallWithoutARetryBuildsOnceAndABuilderThatThrowsOnRetryEndsTheCall) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-text-after-tool-gpt-4o-mini.sse")); },
                  [](const MockRequest&, MockResponse& r) {
                    r.send(500, {}, R"({"error":{"message":"Sorry","type":"server_error","param":null,"code":null}})");
                  }}));
  mx::test::expectOneBuildWithoutARetryAndAThrowOnRetryEndsTheCall<Waiter>(provider(), *server_, request(), "[providers.openai]");
}

TEST_F(OpenAITest, BadRequestIsNotRetried) {
  serve([](const MockRequest&, MockResponse& r) { mx::test::sendRecordedError(r, "openai-error-400-unsupported-parameter.json"); });
  auto result = call(provider(), request());
  EXPECT_EQ(result.status.code(), Code::InvalidArgument);
  EXPECT_NE(result.status.message().find("unsupported_parameter: Unsupported parameter: 'max_tokens'"), std::string::npos);
  EXPECT_EQ(server_->requestCount(), 1u);
}

TEST_F(OpenAITest, ErrorChunkAfterTokensAndMissingDoneAreFailures) {
  const std::string partial = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Lon\"}}]}\n\n";
  serve(sequence({[partial](const MockRequest&, MockResponse& r) {
                    streamSse(r, partial + "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":null}}\n\n");
                  },
                  [partial](const MockRequest&, MockResponse& r) { streamSse(r, partial); }}));
  auto& p = provider();
  auto error = call(p, request());
  EXPECT_EQ(error.status.code(), Code::Unavailable);
  EXPECT_EQ(error.status.message(), "openai stream error: overloaded (after 3 characters were streamed; not retried)");
  auto truncated = call(p, request());
  EXPECT_EQ(truncated.status.code(), Code::Unavailable);
  EXPECT_NE(truncated.status.message().find("ended before [DONE]"), std::string::npos);
  EXPECT_EQ(truncated.text, "Lon");
}

TEST_F(OpenAITest, LocalServerWithoutApiKeySendsNoAuthorization) {
  serve([](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("openai-chat-text-after-tool-gpt-4o-mini.sse")); });
  auto c = connection();
  c.apiKey = "";
  ASSERT_TRUE(call(provider(c), request()).status.isOk());
  EXPECT_EQ(server_->requests().at(0).header("authorization"), "");
}

TEST_F(OpenAITest, TwoHundredConcurrentStreams) {
  std::string body = sseFixture("openai-chat-parallel-tool-calls.sse");
  serve([body](const MockRequest&, MockResponse& r) { streamSse(r, body, 128, 1ms); });
  auto& p = provider();
  std::vector<std::shared_ptr<Waiter>> waiters;
  std::vector<std::future<Result>> futures;
  for (int i = 0; i < 200; ++i) {
    waiters.push_back(std::make_shared<Waiter>());
    futures.push_back(waiters.back()->promise.get_future());
    p.chat(request(), waiters.back(), {});
  }
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto result = f.get();
    ASSERT_TRUE(result.status.isOk()) << result.status.toString();
    EXPECT_EQ(result.response.message.content.size(), 2u);
  }
}

TEST_F(OpenAITest, EmbeddingsFloatBase64BatchingAndErrors) {
  auto floatRecord = Json::parse(mx::test::readFile(mx::test::fixturePath("openai-embeddings-float.json")));
  auto base64Record = Json::parse(mx::test::readFile(mx::test::fixturePath("openai-embeddings-base64-dim256.json")));
  serve([&](const MockRequest& q, MockResponse& r) {
    auto body = Json::parse(q.body);
    if (body["input"][0] == "trigger-400") {
      mx::test::sendRecordedError(r, "openai-embeddings-error-400.json");
      return;
    }
    // One recorded vector per input, in reverse index order, in the requested encoding.
    const Json& record = body["encoding_format"] == "float" ? floatRecord : base64Record;
    Json response = record["body"];
    Json item = response["data"][0];
    response["data"] = Json::array();
    for (int i = static_cast<int>(body["input"].size()) - 1; i >= 0; --i) {
      item["index"] = i;
      response["data"].push_back(item);
    }
    r.send(200, {{"Content-Type", "application/json"}}, response.dump());
  });
  EmbedderConfig config;
  config.connection = connection();
  config.batchSize = 2;
  config.dimensions = 256;
  OpenAIEmbedder base64(config, http_, logger_);
  auto vectors = base64.embed({"a", "b", "c"}, {});
  ASSERT_TRUE(vectors.isOk()) << vectors.status().toString();
  ASSERT_EQ(vectors->size(), 3u);
  EXPECT_EQ((*vectors)[0].size(), 256u);
  EXPECT_EQ(server_->requestCount(), 2u);  // batches of 2 and 1
  auto sent = Json::parse(server_->requests().at(0).body);
  EXPECT_EQ(sent["model"], "text-embedding-3-large");
  EXPECT_EQ(sent["encoding_format"], "base64");
  EXPECT_EQ(sent["dimensions"], 256);
  EXPECT_EQ(sent["input"], Json::array({"a", "b"}));

  config.base64 = false;
  OpenAIEmbedder floats(config, http_, logger_);
  auto fv = floats.embed({"x"}, {});
  ASSERT_TRUE(fv.isOk());
  EXPECT_FLOAT_EQ((*fv)[0][0], 0.017608326f);

  auto error = floats.embed({"trigger-400"}, {});
  EXPECT_EQ(error.status().code(), Code::InvalidArgument);
  EXPECT_NE(error.status().message().find("-1 is less than the minimum of 1 - 'dimensions'"), std::string::npos);
}

}  // namespace
}  // namespace mx::openai
