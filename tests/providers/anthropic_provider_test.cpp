// provider_anthropic against a local server that speaks the Messages API's
// wire format (recorded fixtures replayed byte for byte), through the host's
// real HTTP client.
#include <atomic>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <set>

#include "anthropic_provider.hpp"
#include "api_mock.hpp"
#include "rebuilding_call_checks.hpp"
#include "net/curl_http_client.hpp"
#include "runtime/logging.hpp"

namespace mx::anthropic {
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
  std::chrono::steady_clock::time_point completedAt;
};

struct Waiter final : ChatObserver {
  std::string text;
  std::promise<Result> promise;
  void onTextDelta(std::string_view t) override { text += t; }
  void onComplete(const Status& s, ChatResponse r) override {
    promise.set_value({s, std::move(r), text, std::chrono::steady_clock::now()});
  }
};

class AnthropicProviderTest : public ::testing::Test {
 protected:
  void serve(MockHttpServer::Handler handler) { server_ = std::make_unique<MockHttpServer>(std::move(handler)); }

  ProviderConfig config() {
    ProviderConfig c;
    c.apiKey = "sk-ant-test";
    c.baseUrl = server_->baseUrl();
    c.retry.initialDelay = 20ms;
    c.retry.maxDelay = 100ms;
    c.idleTimeout = 2000ms;
    return c;
  }

  AnthropicProvider& provider(ProviderConfig c) {
    provider_ = std::make_unique<AnthropicProvider>(std::move(c), http_, logger_);
    return *provider_;
  }
  AnthropicProvider& provider() { return provider(config()); }

  static ChatRequest request(const std::string& text = "Hi") {
    ChatRequest r;
    r.model = "claude-sonnet-4-5-20250929";
    r.maxTokens = 512;
    r.messages = {{Role::User, {ContentBlock::makeText(text)}}};
    return r;
  }

  Result call(AnthropicProvider& p, ChatRequest r, CancellationToken cancel = {}) {
    auto waiter = std::make_shared<Waiter>();
    auto future = waiter->promise.get_future();
    p.chat(std::move(r), waiter, std::move(cancel));
    EXPECT_EQ(future.wait_for(15s), std::future_status::ready);
    return future.get();
  }

  std::shared_ptr<host::LogOutput> log_ = std::make_shared<host::LogOutput>(LogLevel::Error, false);
  host::SourceLogger logger_{log_, "test"};
  std::shared_ptr<host::CurlHttpClient> http_ =
      std::make_shared<host::CurlHttpClient>(std::make_shared<host::SourceLogger>(log_, "http"), host::CurlHttpClient::Options{});
  std::unique_ptr<MockHttpServer> server_;
  std::unique_ptr<AnthropicProvider> provider_;
};

const std::string kPartialThenError =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n";

TEST_F(AnthropicProviderTest, SendsTheDocumentedRequest) {
  serve([](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); });
  auto result = call(provider(), request());
  ASSERT_TRUE(result.status.isOk()) << result.status.toString();
  EXPECT_EQ(result.text, "Hello there!");
  auto sent = server_->requests().at(0);
  EXPECT_EQ(sent.path, "/v1/messages");
  EXPECT_EQ(sent.header("x-api-key"), "sk-ant-test");
  EXPECT_EQ(sent.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(sent.header("content-type"), "application/json");
  EXPECT_EQ(sent.header("authorization"), "");
  auto body = Json::parse(sent.body);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["model"], "claude-sonnet-4-5-20250929");
}

// The tools text is kept per tool set and per cache setting: the same set
// again gives the same body, another TTL or another set its own.
TEST_F(AnthropicProviderTest, ToolsTextIsKeptPerToolSetAndCacheSetting) {
  serve([](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); });
  auto& p = provider();
  ToolSet tools = {{"fetch-canon", "Load canon", {{"type", "object"}}}};
  ToolSet others = {{"web-search", "Search the web", {{"type", "object"}}}};
  auto bodyWith = [&](const ToolSet& set, CacheTtl ttl) {
    ChatRequest r = request();
    r.tools = set;
    r.cacheTtl = ttl;
    return Json::parse(p.httpRequestFor(r).body);
  };
  for (int round = 0; round < 2; ++round) {  // the second round reads what the first kept
    Json five = bodyWith(tools, CacheTtl::FiveMinutes);
    Json hour = bodyWith(tools, CacheTtl::OneHour);
    Json other = bodyWith(others, CacheTtl::FiveMinutes);
    EXPECT_EQ(five["tools"][0]["name"], "fetch-canon");
    EXPECT_EQ(five["tools"][0]["cache_control"], Json({{"type", "ephemeral"}}));
    EXPECT_EQ(hour["tools"][0]["cache_control"], Json({{"type", "ephemeral"}, {"ttl", "1h"}}));
    EXPECT_EQ(other["tools"][0]["name"], "web-search");
  }
  for (int i = 0; i < 40; ++i) {  // more sets than it keeps: still right
    ToolSet fresh = {{"tool" + std::to_string(i), "", {{"type", "object"}}}};
    EXPECT_EQ(bodyWith(fresh, CacheTtl::FiveMinutes)["tools"][0]["name"], "tool" + std::to_string(i));
  }
  EXPECT_EQ(bodyWith(tools, CacheTtl::FiveMinutes)["tools"][0]["name"], "fetch-canon");
}

TEST_F(AnthropicProviderTest, BearerAuthAndVersionAreConfigurable) {
  serve([](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); });
  auto c = config();
  c.bearerAuth = true;
  c.version = "2026-10-21";
  c.betas = {"context-1m-2025-08-07", "other"};
  ASSERT_TRUE(call(provider(c), request()).status.isOk());
  auto sent = server_->requests().at(0);
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-ant-test");
  EXPECT_EQ(sent.header("x-api-key"), "");
  EXPECT_EQ(sent.header("anthropic-version"), "2026-10-21");
  EXPECT_EQ(sent.header("anthropic-beta"), "context-1m-2025-08-07,other");
}

TEST_F(AnthropicProviderTest, ToolUseRoundTrip) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-tool-use.sse"), 7); },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse"), 3); }}));
  auto& p = provider();
  ChatRequest first = request("What's the weather in Paris?");
  first.tools = {{"get_weather", "Weather by city", {{"type", "object"}, {"properties", {{"location", {{"type", "string"}}}}}}}};
  auto turn1 = call(p, first);
  ASSERT_TRUE(turn1.status.isOk()) << turn1.status.toString();
  EXPECT_EQ(turn1.response.stopReason, StopReason::ToolUse);
  ASSERT_EQ(turn1.response.message.content.size(), 2u);
  const ContentBlock& toolUse = turn1.response.message.content[1];
  EXPECT_EQ(toolUse.name, "get_weather");
  EXPECT_EQ(toolUse.input, Json({{"location", "Paris"}}));

  ChatRequest second = first;
  second.messages.push_back(turn1.response.message);
  second.messages.push_back({Role::User, {ContentBlock::makeToolResult(toolUse.id, "18°C, sunny", false)}});
  auto turn2 = call(p, second);
  ASSERT_TRUE(turn2.status.isOk());
  EXPECT_EQ(turn2.text, "Hello there!");
  auto body = Json::parse(server_->requests().at(1).body);
  EXPECT_EQ(body["messages"][1]["content"][1]["type"], "tool_use");
  EXPECT_EQ(body["messages"][1]["content"][1]["id"], "toolu_01NRLabsLyVHZPKxbKvkfSMn");
  EXPECT_EQ(body["messages"][1]["content"][1]["input"], Json({{"location", "Paris"}}));
  EXPECT_EQ(body["messages"][2]["content"][0]["tool_use_id"], "toolu_01NRLabsLyVHZPKxbKvkfSMn");
  EXPECT_EQ(body["messages"][2]["content"][0]["content"], "18°C, sunny");
}

TEST_F(AnthropicProviderTest, UsageIncludesCacheTokensExactly) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-cache-write.sse"), 64); },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-cache-read.sse"), 64); }}));
  auto& p = provider();
  auto write = call(p, request());
  ASSERT_TRUE(write.status.isOk());
  EXPECT_EQ(write.response.usage.inputTokens, 18);
  EXPECT_EQ(write.response.usage.cacheWrite5mTokens, 1031);
  EXPECT_EQ(write.response.usage.cacheReadTokens, 0);
  EXPECT_EQ(write.response.usage.outputTokens, 100);
  auto read = call(p, request());
  EXPECT_EQ(read.response.usage.cacheReadTokens, 1031);
  EXPECT_EQ(read.response.usage.cacheWrite5mTokens, 0);
}

TEST_F(AnthropicProviderTest, RateLimitedWithRetryAfterThenSucceeds) {
  serve(sequence({[](const MockRequest&, MockResponse& r) {
                    r.send(429, {{"Content-Type", "application/json"}, {"retry-after", "0.25"}},
                           R"({"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your organization's rate limit"}})");
                  },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); }}));
  auto started = std::chrono::steady_clock::now();
  auto result = call(provider(), request());
  ASSERT_TRUE(result.status.isOk()) << result.status.toString();
  ASSERT_EQ(server_->requestCount(), 2u);
  EXPECT_GE(result.completedAt - started, 250ms);
  EXPECT_EQ(server_->requests().at(1).body, server_->requests().at(0).body) << "a retry sends the same request";
  EXPECT_EQ(server_->requests().at(1).header("x-api-key"), server_->requests().at(0).header("x-api-key"));
}

TEST_F(AnthropicProviderTest, OverloadedAndServerErrorsAreRetried) {
  serve(sequence({[](const MockRequest&, MockResponse& r) {
                    r.send(529, {{"Content-Type", "application/json"}},
                           R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CZquRQNtQiXTvkLNPnid4"})");
                  },
                  [](const MockRequest&, MockResponse& r) {
                    r.send(500, {{"Content-Type", "application/json"}}, R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})");
                  },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); }}));
  auto result = call(provider(), request());
  ASSERT_TRUE(result.status.isOk()) << result.status.toString();
  EXPECT_EQ(server_->requestCount(), 3u);
}

// chatRebuilding (SDK 2.1): the call keeps the builder, not the body, and a retry writes the body again.
TEST_F(AnthropicProviderTest, ARebuildingCallRetriesWithTheSameBodyBuiltAgain) {
  serve(sequence({[](const MockRequest&, MockResponse& r) {
                    r.send(529, {{"Content-Type", "application/json"}}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
                  },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); }}));
  ChatRequest withTools = request();
  withTools.tools = ToolSet{{"search", "Searches", Json::parse(R"({"type":"object"})")}};
  std::string body = mx::test::expectARetryToSendTheSameBodyBuiltAgain<Waiter>(provider(), *server_, withTools);
  EXPECT_EQ(Json::parse(body)["tools"][0]["name"], "search");
}

TEST_F(AnthropicProviderTest, ARebuildingCallWithoutARetryBuildsOnceAndABuilderThatThrowsOnRetryEndsTheCall) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); },
                  [](const MockRequest&, MockResponse& r) {
                    r.send(529, {{"Content-Type", "application/json"}}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
                  }}));
  mx::test::expectOneBuildWithoutARetryAndAThrowOnRetryEndsTheCall<Waiter>(provider(), *server_, request(),
                                                                          "[providers.anthropic]");
}

TEST_F(AnthropicProviderTest, ABuilderThatThrowsSomethingElseOnRetryEndsTheCallToo) {
  serve([](const MockRequest&, MockResponse& r) {
    r.send(529, {{"Content-Type", "application/json"}}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  });
  int built = 0;
  auto waiter = std::make_shared<Waiter>();
  auto future = waiter->promise.get_future();
  provider().chatRebuilding([&]() -> ChatRequest {
    if (++built > 1) throw 7;  // the retry's build, on the I/O thread
    return request();
  }, waiter, {});
  ASSERT_EQ(future.wait_for(15s), std::future_status::ready);
  auto result = future.get();
  EXPECT_EQ(result.status.code(), Code::Internal);
  EXPECT_EQ(result.status.message(), "[providers.anthropic]: building the request again for retry 1: a non-standard exception");
}

TEST_F(AnthropicProviderTest, RetriesAreBoundedAndReportTheLastError) {
  serve([](const MockRequest&, MockResponse& r) {
    r.send(529, {{"Content-Type", "application/json"}}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  });
  auto result = call(provider(), request());
  EXPECT_EQ(result.status.code(), Code::Unavailable);
  EXPECT_EQ(result.status.message(), "anthropic 529 overloaded_error: Overloaded");
  EXPECT_EQ(server_->requestCount(), 3u);  // 1 + max_retries
}

TEST_F(AnthropicProviderTest, BadRequestAndAuthenticationErrorsAreNotRetried) {
  serve([](const MockRequest& q, MockResponse& r) {
    mx::test::sendRecordedError(r, q.header("x-api-key") == "bad" ? "anthropic-error-401.json" : "anthropic-error-400.json");
  });
  auto invalid = call(provider(), request());
  EXPECT_EQ(invalid.status.code(), Code::InvalidArgument);
  EXPECT_NE(invalid.status.message().find("anthropic 400 invalid_request_error: messages.0: Input does not match the expected shape."),
            std::string::npos) << invalid.status.message();
  EXPECT_EQ(server_->requestCount(), 1u);
  auto c = config();
  c.apiKey = "bad";
  auto unauthenticated = call(provider(c), request());
  EXPECT_EQ(unauthenticated.status.code(), Code::Unauthenticated);
  EXPECT_NE(unauthenticated.status.message().find("invalid x-api-key"), std::string::npos);
  EXPECT_EQ(server_->requestCount(), 2u);
}

TEST_F(AnthropicProviderTest, NotFoundModelIsNotRetried) {
  serve([](const MockRequest&, MockResponse& r) { mx::test::sendRecordedError(r, "anthropic-error-404-model.json"); });
  auto result = call(provider(), request());
  EXPECT_EQ(result.status.code(), Code::NotFound);
  EXPECT_NE(result.status.message().find("model: claude-does-not-exist (request-id req_011CVEA3SF7rnb3DuBZytqQa)"), std::string::npos)
      << result.status.message();
  EXPECT_EQ(server_->requestCount(), 1u);
}

TEST_F(AnthropicProviderTest, ErrorEventBeforeAnyTokenIsRetried) {
  serve(sequence({[](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-error-overloaded.sse")); },
                  [](const MockRequest&, MockResponse& r) { streamSse(r, sseFixture("anthropic-text-basic.sse")); }}));
  auto result = call(provider(), request());
  ASSERT_TRUE(result.status.isOk()) << result.status.toString();
  EXPECT_EQ(server_->requestCount(), 2u);
}

TEST_F(AnthropicProviderTest, ErrorEventAfterTokensFailsAndSaysHowMuchWasStreamed) {
  serve([](const MockRequest&, MockResponse& r) {
    streamSse(r, kPartialThenError + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
  });
  auto result = call(provider(), request());
  EXPECT_EQ(result.status.code(), Code::Unavailable);
  EXPECT_EQ(result.status.message(),
            "anthropic stream error overloaded_error: Overloaded (after 5 characters were streamed; not retried)");
  EXPECT_EQ(server_->requestCount(), 1u);
  EXPECT_EQ(result.response.message.content.at(0).text, "Hello");
  EXPECT_EQ(result.response.usage.inputTokens, 30);
}

TEST_F(AnthropicProviderTest, StreamEndingWithoutMessageStopIsAFailure) {
  serve([](const MockRequest&, MockResponse& r) { streamSse(r, kPartialThenError); });
  auto result = call(provider(), request());
  EXPECT_EQ(result.status.code(), Code::Unavailable);
  EXPECT_NE(result.status.message().find("ended before message_stop (after 5 characters"), std::string::npos)
      << result.status.message();
}

TEST_F(AnthropicProviderTest, ConnectionResetMidStreamKeepsThePartialResponse) {
  serve([](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    r.chunk(kPartialThenError);
    r.sleep(30ms);
    r.reset();
  });
  auto result = call(provider(), request());
  EXPECT_EQ(result.status.code(), Code::Unavailable);
  EXPECT_NE(result.status.message().find("after 5 characters were streamed"), std::string::npos) << result.status.message();
  EXPECT_EQ(result.text, "Hello");
  EXPECT_EQ(server_->requestCount(), 1u);
}

TEST_F(AnthropicProviderTest, StallPastTheIdleTimeoutFails) {
  serve([](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    r.chunk(kPartialThenError);
    r.sleep(2000ms);
  });
  auto c = config();
  c.idleTimeout = 300ms;
  auto result = call(provider(c), request());
  EXPECT_EQ(result.status.code(), Code::DeadlineExceeded);
  EXPECT_NE(result.status.message().find("idle timeout"), std::string::npos);
}

TEST_F(AnthropicProviderTest, CancellationWhileStreamingStopsWithin50ms) {
  std::string body = sseFixture("anthropic-cache-write.sse");
  serve([body](const MockRequest&, MockResponse& r) { streamSse(r, body, 40, 20ms); });
  CancellationSource source;
  auto waiter = std::make_shared<Waiter>();
  auto future = waiter->promise.get_future();
  provider().chat(request(), waiter, source.token());
  std::this_thread::sleep_for(300ms);
  auto cancelledAt = std::chrono::steady_clock::now();
  source.cancel("user pressed stop");
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  auto result = future.get();
  EXPECT_EQ(result.status.code(), Code::Cancelled);
  EXPECT_LT(result.completedAt - cancelledAt, 50ms);
  EXPECT_EQ(result.response.usage.inputTokens, 18);  // what was used so far is still reported
  EXPECT_EQ(result.response.usage.cacheWrite5mTokens, 1031);
}

TEST_F(AnthropicProviderTest, CancellationDuringRetryBackoffIsImmediate) {
  serve([](const MockRequest&, MockResponse& r) {
    r.send(429, {{"retry-after", "30"}}, R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})");
  });
  CancellationSource source;
  auto waiter = std::make_shared<Waiter>();
  auto future = waiter->promise.get_future();
  provider().chat(request(), waiter, source.token());
  std::this_thread::sleep_for(200ms);
  auto cancelledAt = std::chrono::steady_clock::now();
  source.cancel();
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  auto result = future.get();
  EXPECT_EQ(result.status.code(), Code::Cancelled);
  EXPECT_LT(result.completedAt - cancelledAt, 50ms);
}

// On a client with two I/O threads a call's retries keep to its own thread,
// and a cancel's task, which runs on the other one, still ends a backoff at
// once: calls go to the threads in turn, so of two calls one is on each.
TEST_F(AnthropicProviderTest, OnTwoIoThreadsRetriesSucceedAndACancelInABackoffIsImmediateOnEither) {
  host::CurlHttpClient::Options options;
  options.ioThreads = 2;
  auto http = std::make_shared<host::CurlHttpClient>(std::make_shared<host::SourceLogger>(log_, "http"), options);
  auto seen = std::make_shared<std::pair<std::mutex, std::set<std::string>>>();
  serve([seen](const MockRequest& request, MockResponse& r) {
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(seen->first);
      first = seen->second.insert(request.body).second;
    }
    if (request.body.find("wait") != std::string::npos || first) {
      r.send(429, {{"retry-after", request.body.find("wait") != std::string::npos ? "30" : "0.05"}},
             R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})");
      return;
    }
    streamSse(r, sseFixture("anthropic-text-basic.sse"));
  });
  AnthropicProvider retrying(config(), http, logger_);
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (int i = 0; i < 20; ++i) {
    waiters.push_back(std::make_shared<Waiter>());
    retrying.chat(request("call " + std::to_string(i)), waiters.back(), {});
  }
  for (auto& waiter : waiters) {
    auto future = waiter->promise.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    auto result = future.get();
    ASSERT_TRUE(result.status.isOk()) << result.status.toString();
    EXPECT_EQ(result.text, "Hello there!");
  }
  EXPECT_EQ(server_->requestCount(), 40u);

  std::vector<CancellationSource> sources(2);
  std::vector<std::shared_ptr<Waiter>> waiting;
  for (auto& source : sources) {
    waiting.push_back(std::make_shared<Waiter>());
    retrying.chat(request("wait"), waiting.back(), source.token());
  }
  std::this_thread::sleep_for(200ms);
  for (size_t i = 0; i < sources.size(); ++i) {
    auto future = waiting[i]->promise.get_future();
    auto cancelledAt = std::chrono::steady_clock::now();
    sources[i].cancel();
    ASSERT_EQ(future.wait_for(2s), std::future_status::ready) << i;
    auto result = future.get();
    EXPECT_EQ(result.status.code(), Code::Cancelled) << i;
    EXPECT_LT(result.completedAt - cancelledAt, 50ms) << i;
  }
  http->shutdown();
}

TEST_F(AnthropicProviderTest, MissingApiKeyIsAFailedPrecondition) {
  serve([](const MockRequest&, MockResponse& r) { r.send(200, {}, ""); });
  auto c = config();
  c.apiKey = "";
  auto result = call(provider(c), request());
  EXPECT_EQ(result.status.code(), Code::FailedPrecondition);
  EXPECT_EQ(server_->requestCount(), 0u);
  EXPECT_EQ(provider_->health().code(), Code::FailedPrecondition);
}

TEST_F(AnthropicProviderTest, TwoHundredConcurrentStreamsThroughOneProvider) {
  std::string body = sseFixture("anthropic-tool-use-padded.sse");
  serve([body](const MockRequest&, MockResponse& r) { streamSse(r, body, 256, 1ms); });
  auto& p = provider();
  std::vector<std::future<Result>> futures;
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (int i = 0; i < 200; ++i) {
    waiters.push_back(std::make_shared<Waiter>());
    futures.push_back(waiters.back()->promise.get_future());
    p.chat(request("call " + std::to_string(i)), waiters.back(), {});
  }
  for (auto& future : futures) {
    ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
    auto result = future.get();
    ASSERT_TRUE(result.status.isOk()) << result.status.toString();
    EXPECT_EQ(result.response.message.content.back().input["location"], "San Francisco, CA");
  }
  EXPECT_EQ(server_->requestCount(), 200u);
}

}  // namespace
}  // namespace mx::anthropic
