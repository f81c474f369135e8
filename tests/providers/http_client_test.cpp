// The host's libcurl-multi HTTP client against a local server: bodies, SSE,
// keep-alive, timeouts, resets, cancellation, timers, many concurrent streams.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "mock_http_server.hpp"
#include "net/curl_http_client.hpp"
#include "runtime/logging.hpp"
#include "runtime/thread_name.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {
namespace {

using namespace std::chrono_literals;
using mx::test::MockHttpServer;
using mx::test::MockRequest;
using mx::test::MockResponse;

struct Collector final : HttpStreamHandler {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::vector<std::pair<std::string, std::string>> events;
  std::promise<Status> done;
  std::chrono::steady_clock::time_point completedAt;
  void onResponseStart(int s, const HttpHeaders& h) override { status = s; headers = h; }
  void onBodyData(std::string_view chunk) override { body.append(chunk); }
  void onEvent(const SseEvent& e) override { events.emplace_back(std::string(e.event), std::string(e.data)); }
  void onComplete(const Status& s) override {
    completedAt = std::chrono::steady_clock::now();
    done.set_value(s);
  }
};

std::shared_ptr<CurlHttpClient> makeClient(size_t ioThreads = 1) {
  CurlHttpClient::Options options;
  options.ioThreads = ioThreads;
  return std::make_shared<CurlHttpClient>(std::make_shared<SourceLogger>(std::make_shared<LogOutput>(LogLevel::Error, false), "test"),
                                          options);
}

HttpRequest post(const std::string& url, bool sse = false) {
  HttpRequest request;
  request.url = url;
  request.body = "{\"q\":1}";
  request.headers = {{"content-type", "application/json"}, {"x-api-key", "k"}};
  request.decodeEventStream = sse;
  request.idleTimeout = 2000ms;
  return request;
}

Status wait(const std::shared_ptr<Collector>& c) {
  auto future = c->done.get_future();
  EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
  return future.get();
}

// Calls `then` when its request completes (from the I/O thread that ran it), to start what comes next there.
struct ThenOnComplete final : HttpStreamHandler {
  std::function<void()> then;
  void onResponseStart(int, const HttpHeaders&) override {}
  void onBodyData(std::string_view) override {}
  void onEvent(const SseEvent&) override {}
  void onComplete(const Status&) override { then(); }
};

MockHttpServer tickingServer(int ticks) {
  return MockHttpServer([ticks](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    for (int i = 0; i < ticks && !r.failed(); ++i) {
      r.chunk("data: " + std::to_string(i) + "\n\n");
      r.sleep(20ms);
    }
    r.end();
  });
}

// Eight streams of five events under a cap of `cap` open connections on
// `ioThreads` threads: every one completes, and no more connections open.
void expectEightStreamsOnAtMost(long cap, size_t ioThreads) {
  MockHttpServer server = tickingServer(5);
  CurlHttpClient::Options options;
  options.ioThreads = ioThreads;
  options.maxTotalConnections = cap;
  auto client = std::make_shared<CurlHttpClient>(
      std::make_shared<SourceLogger>(std::make_shared<LogOutput>(LogLevel::Error, false), "test"), options);
  std::vector<std::shared_ptr<Collector>> collectors;
  for (int i = 0; i < 8; ++i) {
    collectors.push_back(std::make_shared<Collector>());
    client->start(post(server.baseUrl() + "/", true), collectors.back(), {});
  }
  for (auto& c : collectors) {
    ASSERT_TRUE(wait(c).isOk());
    EXPECT_EQ(c->events.size(), 5u);
  }
  EXPECT_EQ(server.requestCount(), 8u);
  EXPECT_LE(server.connectionCount(), static_cast<size_t>(cap));
}

TEST(HttpClient, DeliversStatusHeadersAndBodyAndSendsTheRequest) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.send(201, {{"Content-Type", "application/json"}, {"request-id", "req_9"}}, "{\"ok\":true}");
  });
  auto client = makeClient();
  auto collector = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/v1/things?beta=true"), collector, {});
  ASSERT_TRUE(wait(collector).isOk());
  EXPECT_EQ(collector->status, 201);
  EXPECT_EQ(collector->headers.find("request-id").value_or(""), "req_9");
  EXPECT_EQ(collector->body, "{\"ok\":true}");
  auto request = server.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/things");
  EXPECT_EQ(request.query, "beta=true");
  EXPECT_EQ(request.header("x-api-key"), "k");
  EXPECT_EQ(request.body, "{\"q\":1}");
}

// A URL is parsed once per client and kept for the transfers to it (up to a
// number of distinct ones); every request still goes to its own URL, past the
// number kept too, and the same URL again reaches the same path and query.
TEST(HttpClient, EveryRequestGoesToItsOwnUrlBeyondTheParsedOnesKept) {
  MockHttpServer server([](const MockRequest& request, MockResponse& r) { r.send(200, {}, request.path + "?" + request.query); });
  auto client = makeClient();
  for (int i = 0; i < 80; ++i) {
    auto collector = std::make_shared<Collector>();
    std::string path = "/v1/items/" + std::to_string(i % 70);
    client->start(post(server.baseUrl() + path + "?n=" + std::to_string(i % 70)), collector, {});
    ASSERT_TRUE(wait(collector).isOk()) << i;
    EXPECT_EQ(collector->body, path + "?n=" + std::to_string(i % 70)) << i;
  }
}

// The same for what a request sets only sometimes (a body, a total timeout,
// Accept-Encoding), and a failed transfer's error does not reach the next one's message.
TEST(HttpClient, AReusedHandleKeepsNoTimeoutEncodingOrErrorOfTheLast) {
  MockHttpServer server([](const MockRequest& request, MockResponse& r) {
    if (request.path == "/slow") r.sleep(700ms);
    r.send(200, {{"Content-Type", "text/plain"}}, request.method + " " + request.body);
  });
  auto client = makeClient();
  HttpRequest first = post(server.baseUrl() + "/first");
  first.totalTimeout = 500ms;
  auto one = std::make_shared<Collector>();
  client->start(first, one, {});
  ASSERT_TRUE(wait(one).isOk());
  EXPECT_EQ(one->body, "POST {\"q\":1}");

  HttpRequest get;  // after a POST with a body and a 500 ms limit: a GET, none of either
  get.url = server.baseUrl() + "/slow";
  get.method = "GET";
  auto two = std::make_shared<Collector>();
  client->start(get, two, {});
  ASSERT_TRUE(wait(two).isOk()) << "the last transfer's total timeout applied";
  EXPECT_EQ(two->body, "GET ");
  EXPECT_EQ(server.requests().at(1).header("content-length"), "");
  EXPECT_NE(server.requests().at(0).header("accept-encoding"), "");

  auto three = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/events", true), three, {});
  ASSERT_TRUE(wait(three).isOk());
  EXPECT_EQ(server.requests().at(2).header("accept-encoding"), "") << "an event stream asks for no encoding";

  int closed = [] {  // a port nothing listens on: connection refused
    MockHttpServer gone([](const MockRequest&, MockResponse& r) { r.send(200, {}, ""); });
    return gone.port();
  }();
  auto refused = std::make_shared<Collector>();
  client->start(post("http://127.0.0.1:" + std::to_string(closed) + "/"), refused, {});
  EXPECT_FALSE(wait(refused).isOk());
  HttpRequest late = post(server.baseUrl() + "/slow");
  late.totalTimeout = 200ms;
  auto timedOut = std::make_shared<Collector>();
  client->start(late, timedOut, {});
  Status status = wait(timedOut);
  EXPECT_EQ(status.code(), Code::DeadlineExceeded) << status.toString();
  EXPECT_EQ(status.message().find("refused"), std::string::npos) << "the refused connect's errno came along: " << status.toString();
}

// A URL libcurl cannot parse fails the request with libcurl's own words.
TEST(HttpClient, AnUnparsableUrlFailsTheRequestSayingSo) {
  auto client = makeClient();
  auto collector = std::make_shared<Collector>();
  client->start(post("http://exa mple.invalid/v1/messages"), collector, {});
  Status status = wait(collector);
  EXPECT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("http://exa mple.invalid/v1/messages"), std::string::npos) << status.toString();
  EXPECT_NE(status.message().find("URL"), std::string::npos) << status.toString();
}

// A shared request is read in place: the caller may drop its reference at
// once, and the client lets go of its own when the response starts.
TEST(HttpClient, ASharedRequestLivesAsLongAsItsTransfer) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) { r.send(200, {{"Content-Type", "text/plain"}}, "ok"); });
  auto client = makeClient();
  HttpRequest request = post(server.baseUrl() + "/v1/big");
  request.body = std::string(300000, 'x') + "end";  // several socket writes
  auto shared = std::make_shared<const HttpRequest>(std::move(request));
  std::weak_ptr<const HttpRequest> watched = shared;
  auto collector = std::make_shared<Collector>();
  client->startShared(std::move(shared), collector, {});
  ASSERT_TRUE(wait(collector).isOk());
  EXPECT_EQ(server.requests().at(0).body.size(), 300003u);
  EXPECT_EQ(server.requests().at(0).body.substr(299997), "xxxend");
  EXPECT_TRUE(watched.expired()) << "the client keeps the request after the transfer";
}

// An event stream of one event, a pause (`pathPause` for requests to `path`, `otherPause` for the
// rest), a second event and its end.
MockHttpServer::Handler eventPauseEvent(std::string path, std::chrono::milliseconds pathPause, std::chrono::milliseconds otherPause) {
  return [=](const MockRequest& request, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    r.chunk("data: 1\n\n");
    r.sleep(request.path == path ? pathPause : otherPause);
    r.chunk("data: 2\n\n");
    r.end();
  };
}

// A long stream does not keep its request (for a model, the whole
// conversation): the client holds it only until the response starts, and
// an idle stream still fails naming the request.
TEST(HttpClient, AStreamLetsGoOfItsRequestWhenTheResponseStarts) {
  MockHttpServer server(eventPauseEvent("/idle", 1500ms, 300ms));
  struct Watcher final : HttpStreamHandler {
    std::weak_ptr<const HttpRequest> watched;
    std::vector<bool> releasedAtEvent;
    std::promise<Status> done;
    void onResponseStart(int, const HttpHeaders&) override {}
    void onBodyData(std::string_view) override {}
    void onEvent(const SseEvent&) override { releasedAtEvent.push_back(watched.expired()); }
    void onComplete(const Status& s) override { done.set_value(s); }
  };
  auto client = makeClient();
  for (const char* path : {"/stream", "/idle"}) {
    HttpRequest request = post(server.baseUrl() + path, true);
    request.body = std::string(100000, 'x');
    request.idleTimeout = 700ms;
    auto shared = std::make_shared<const HttpRequest>(std::move(request));
    auto watcher = std::make_shared<Watcher>();
    watcher->watched = shared;
    auto finished = watcher->done.get_future();
    client->startShared(std::move(shared), watcher, {});
    ASSERT_EQ(finished.wait_for(10s), std::future_status::ready);
    Status status = finished.get();
    if (std::string(path) == "/stream") {
      ASSERT_TRUE(status.isOk()) << status.toString();
      EXPECT_EQ(watcher->releasedAtEvent, (std::vector<bool>{true, true}));
    } else {
      EXPECT_EQ(status.code(), Code::DeadlineExceeded);
      EXPECT_NE(status.message().find("POST " + server.baseUrl() + "/idle: no data for 700 ms"), std::string::npos) << status.message();
    }
  }
  EXPECT_EQ(server.requests().at(0).body.size(), 100000u);
}

TEST(HttpClient, DecodesEventStreamsAcrossChunksButNotErrorBodies) {
  MockHttpServer server([](const MockRequest& request, MockResponse& r) {
    if (request.path == "/error") {
      r.send(400, {{"Content-Type", "text/event-stream"}}, "data: not decoded\n\n");
      return;
    }
    r.begin(200, {{"Content-Type", "text/event-stream; charset=utf-8"}});
    r.chunk("event: a\nda");
    r.chunk("ta: 1\n\nevent: b\r");
    r.chunk("\ndata: 2\r\n\r\n");
    r.end();
  });
  auto client = makeClient();
  auto collector = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/stream", true), collector, {});
  ASSERT_TRUE(wait(collector).isOk());
  ASSERT_EQ(collector->events.size(), 2u);
  EXPECT_EQ(collector->events[0], std::make_pair(std::string("a"), std::string("1")));
  EXPECT_EQ(collector->events[1], std::make_pair(std::string("b"), std::string("2")));
  auto error = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/error", true), error, {});
  ASSERT_TRUE(wait(error).isOk());
  EXPECT_EQ(error->status, 400);
  EXPECT_TRUE(error->events.empty());
  EXPECT_EQ(error->body, "data: not decoded\n\n");
}

// A response body may come compressed; an event stream is asked for as it is
// written, also on a handle a compressed request used before.
TEST(HttpClient, AsksForCompressionExceptForEventStreams) {
  std::mutex mutex;
  std::vector<std::string> asked;
  MockHttpServer server([&](const MockRequest& request, MockResponse& r) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      asked.push_back(request.path + " " + request.header("accept-encoding"));
    }
    r.send(200, {{"Content-Type", request.path == "/events" ? "text/event-stream" : "text/plain"}}, "data: 1\n\n");
  });
  auto client = makeClient();
  for (const char* path : {"/plain", "/events", "/plain"}) {
    auto c = std::make_shared<Collector>();
    client->start(post(server.baseUrl() + path, std::string(path) == "/events"), c, {});
    ASSERT_TRUE(wait(c).isOk());
  }
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_NE(asked[0].find("gzip"), std::string::npos) << asked[0];
  EXPECT_EQ(asked[1], "/events ");
  EXPECT_NE(asked[2].find("gzip"), std::string::npos) << asked[2];
}

TEST(HttpClient, ReusesConnections) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) { r.send(200, {}, "x"); });
  auto client = makeClient();
  for (int i = 0; i < 5; ++i) {
    auto c = std::make_shared<Collector>();
    client->start(post(server.baseUrl() + "/"), c, {});
    ASSERT_TRUE(wait(c).isOk());
  }
  EXPECT_EQ(server.requestCount(), 5u);
  EXPECT_EQ(server.connectionCount(), 1u);
}

// A pooled connection keeps its epoll registration between transfers; when
// the server closes it while it waits in the pool (a keep-alive timeout), the
// event is dropped with the registration and the next request opens a new
// connection, possibly under the same descriptor number.
TEST(HttpClient, AConnectionTheServerClosesInThePoolIsReplaced) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.send(200, {}, "x");
    r.sleep(20ms);
    r.close();
  });
  auto client = makeClient();
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_shared<Collector>();
    client->start(post(server.baseUrl() + "/"), c, {});
    ASSERT_TRUE(wait(c).isOk()) << "request " << i;
    EXPECT_EQ(c->body, "x");
    std::this_thread::sleep_for(80ms);  // the server has closed the pooled connection by now
  }
  EXPECT_EQ(server.requestCount(), 4u);
  EXPECT_EQ(server.connectionCount(), 4u);
}

// Easy handles are reused with every option set again: nothing of one request
// (method, body, headers, stream decoding) may reach the next.
TEST(HttpClient, AReusedHandleCarriesNothingOfTheRequestBefore) {
  MockHttpServer server([](const MockRequest& request, MockResponse& r) {
    if (request.path == "/events") {
      r.send(200, {{"Content-Type", "text/event-stream"}}, "event: a\ndata: 1\n\n");
    } else {
      r.send(200, {{"Content-Type", "text/plain"}}, "plain " + request.method);
    }
  });
  auto client = makeClient();
  for (int round = 0; round < 3; ++round) {
    auto streamed = std::make_shared<Collector>();
    HttpRequest first = post(server.baseUrl() + "/events", true);
    first.headers.emplace_back("x-first", "1");
    client->start(first, streamed, {});
    ASSERT_TRUE(wait(streamed).isOk());
    ASSERT_EQ(streamed->events.size(), 1u);

    auto plain = std::make_shared<Collector>();
    HttpRequest second;
    second.method = "GET";
    second.url = server.baseUrl() + "/plain";
    second.headers = {{"x-second", "2"}};
    client->start(second, plain, {});
    ASSERT_TRUE(wait(plain).isOk());
    EXPECT_EQ(plain->body, "plain GET");  // not decoded as events
    EXPECT_TRUE(plain->events.empty());
  }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  for (size_t i = 1; i < requests.size(); i += 2) {
    EXPECT_EQ(requests[i].method, "GET");
    EXPECT_EQ(requests[i].body, "");
    EXPECT_EQ(requests[i].header("x-first"), "");
    EXPECT_EQ(requests[i].header("x-second"), "2");
  }
  EXPECT_EQ(requests[2].body, "{\"q\":1}");
  EXPECT_EQ(requests[2].header("x-second"), "");
}

// The proxy variables are read when the client starts: with one set, requests
// go through that proxy (libcurl reads the variables per transfer); with none,
// each transfer says "no proxy" itself instead of scanning the environment.
TEST(HttpClient, ProxyVariablesSetAtStartAreHonouredAndNoneMeansDirect) {
  struct ClearedProxyVariables {  // whatever the machine has, restored after
    std::vector<std::pair<std::string, std::string>> saved;
    ClearedProxyVariables() {
      for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
        if (const char* value = std::getenv(name)) saved.emplace_back(name, value);
        unsetenv(name);
      }
    }
    ~ClearedProxyVariables() {
      for (const auto& [name, value] : saved) setenv(name.c_str(), value.c_str(), 1);
    }
  } cleared;
  MockHttpServer proxy([](const MockRequest&, MockResponse& r) { r.send(200, {{"Content-Type", "text/plain"}}, "via proxy"); });
  const std::string target = "http://upstream.invalid/v1/things";
  ASSERT_EQ(setenv("http_proxy", proxy.baseUrl().c_str(), 1), 0);
  auto proxied = makeClient();
  auto collector = std::make_shared<Collector>();
  proxied->start(post(target), collector, {});
  Status status = wait(collector);
  unsetenv("http_proxy");
  ASSERT_TRUE(status.isOk()) << status.toString();
  EXPECT_EQ(collector->body, "via proxy");
  ASSERT_EQ(proxy.requests().size(), 1u);

  auto direct = makeClient();  // nothing set now: the unresolvable host is tried directly
  auto refused = std::make_shared<Collector>();
  direct->start(post(target), refused, {});
  EXPECT_EQ(wait(refused).code(), Code::Unavailable);
  EXPECT_EQ(proxy.requests().size(), 1u);
}

TEST(HttpClient, ConnectionRefusedIsUnavailable) {
  int port;
  { MockHttpServer server([](const MockRequest&, MockResponse&) {}); port = server.port(); }
  auto client = makeClient();
  auto c = std::make_shared<Collector>();
  client->start(post("http://127.0.0.1:" + std::to_string(port) + "/"), c, {});
  Status status = wait(c);
  EXPECT_EQ(status.code(), Code::Unavailable) << status.toString();
  // What and why: the request, and the system's reason (libcurl's own text does not say).
  EXPECT_NE(status.message().find("POST http://127.0.0.1:" + std::to_string(port) + "/"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("(Connection refused)"), std::string::npos) << status.message();
}

TEST(HttpClient, ResetMidStreamIsUnavailable) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    r.chunk("data: 1\n\n");
    r.sleep(50ms);
    r.reset();
  });
  auto client = makeClient();
  auto c = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/", true), c, {});
  Status status = wait(c);
  EXPECT_EQ(status.code(), Code::Unavailable) << status.toString();
  EXPECT_EQ(c->events.size(), 1u);
}

TEST(HttpClient, StalledStreamHitsTheIdleTimeout) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    r.chunk("data: 1\n\n");
    r.sleep(1500ms);
  });
  auto client = makeClient();
  auto c = std::make_shared<Collector>();
  auto request = post(server.baseUrl() + "/", true);
  request.idleTimeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  client->start(request, c, {});
  Status status = wait(c);
  EXPECT_EQ(status.code(), Code::DeadlineExceeded) << status.toString();
  EXPECT_NE(status.message().find("idle timeout"), std::string::npos);
  auto took = c->completedAt - started;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1000ms);
}

// The idle scan runs as often as the shortest live idle timeout needs (an eighth of it), not as
// the longest: a transfer with a minute's timeout does not delay finding a stalled 300 ms one.
TEST(HttpClient, AShortIdleTimeoutIsFoundBesideALongOne) {
  MockHttpServer server(eventPauseEvent("/long", 2500ms, 1500ms));
  auto client = makeClient();
  auto longOne = std::make_shared<Collector>();
  auto request = post(server.baseUrl() + "/long", true);
  request.idleTimeout = 60000ms;
  client->start(request, longOne, {});
  std::this_thread::sleep_for(100ms);  // its scans planned a second apart
  auto shortOne = std::make_shared<Collector>();
  request = post(server.baseUrl() + "/short", true);
  request.idleTimeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  client->start(request, shortOne, {});
  Status status = wait(shortOne);
  EXPECT_EQ(status.code(), Code::DeadlineExceeded) << status.toString();
  auto took = shortOne->completedAt - started;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 700ms);  // planned by the long one alone, the next scan was ~900 ms away
  EXPECT_TRUE(wait(longOne).isOk());  // the long one ends with its stream, untouched
}

TEST(HttpClient, CancellationAbortsTheTransferAtOnce) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    for (int i = 0; i < 100 && !r.failed(); ++i) {
      r.chunk("data: tick\n\n");
      r.sleep(20ms);
    }
  });
  auto client = makeClient();
  auto c = std::make_shared<Collector>();
  CancellationSource source;
  client->start(post(server.baseUrl() + "/", true), c, source.token());
  std::this_thread::sleep_for(100ms);
  auto cancelledAt = std::chrono::steady_clock::now();
  source.cancel();
  Status status = wait(c);
  EXPECT_EQ(status.code(), Code::Cancelled);
  EXPECT_LT(c->completedAt - cancelledAt, 50ms);
}

TEST(HttpClient, AlreadyCancelledTokenNeverStarts) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) { r.send(200, {}, "x"); });
  auto client = makeClient();
  CancellationSource source;
  source.cancel();
  auto c = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/"), c, source.token());
  EXPECT_EQ(wait(c).code(), Code::Cancelled);
}

TEST(HttpClient, TimersRunOnTheLoopInOrder) {
  auto client = makeClient();
  std::promise<std::vector<int>> done;
  auto order = std::make_shared<std::vector<int>>();
  auto started = std::chrono::steady_clock::now();
  client->runAfter(60ms, [order, &done] { order->push_back(2); done.set_value(*order); });
  client->runAfter(10ms, [order] { order->push_back(1); });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(future.get(), (std::vector<int>{1, 2}));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 60ms);
}

// An idle loop plans to sleep up to a second; a timer due after that does not
// wake it, and still runs on time (the loop plans its next sleep around it).
TEST(HttpClient, TimerDueAfterThePlannedWakeUpRunsOnTime) {
  auto client = makeClient();
  std::this_thread::sleep_for(50ms);  // the loop is asleep, planned to wake in a second
  std::promise<void> fired;
  auto at = std::chrono::steady_clock::now();
  client->runAfter(1300ms, [&] { fired.set_value(); });
  auto future = fired.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  auto elapsed = std::chrono::steady_clock::now() - at;
  EXPECT_GE(elapsed, 1300ms);
  EXPECT_LT(elapsed, 1900ms) << "the timer waited for a second planned sleep to end";
}

// With every graph worker asleep (one stream), the step a model's answer ends
// runs on the client's own thread when its pass ends, and a request that step
// starts is sent without the eventfd that wakes a sleeping loop.
TEST(HttpClient, AnAnswersNextStepRunsOnTheLoopWhileTheWorkersSleep) {
  MockHttpServer server([](const MockRequest& request, MockResponse& r) { r.send(200, {}, request.path); });
  auto client = makeClient();
  WorkerPool workers(1, /*acceptsHelp=*/true);
  for (int i = 0; i < 500 && workers.workersAsleep() < 1; ++i) std::this_thread::sleep_for(1ms);
  auto second = std::make_shared<Collector>();
  std::promise<std::pair<std::thread::id, std::thread::id>> threads;  // the completion's, the step's
  auto first = std::make_shared<ThenOnComplete>();
  first->then = [&] {
    auto loopThread = std::this_thread::get_id();
    workers.post([&, loopThread] {
      threads.set_value({loopThread, std::this_thread::get_id()});
      client->start(post(server.baseUrl() + "/v1/second"), second, {});
    });
  };
  client->start(post(server.baseUrl() + "/v1/first"), first, {});
  auto future = threads.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  auto [loopThread, stepThread] = future.get();
  EXPECT_EQ(stepThread, loopThread);
  EXPECT_EQ(workers.wakeUps(), 0u);
  ASSERT_TRUE(wait(second).isOk());
  EXPECT_EQ(second->body, "/v1/second");
  workers.stop();
}

TEST(HttpClient, ShutdownCompletesInFlightTransfers) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.begin(200, {});
    r.sleep(2000ms);
  });
  auto client = makeClient();
  auto c = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/"), c, {});
  std::this_thread::sleep_for(100ms);
  client->shutdown();
  EXPECT_EQ(wait(c).code(), Code::Cancelled);
  auto late = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/"), late, {});
  EXPECT_EQ(wait(late).code(), Code::Cancelled);
}

// With a cap on open connections, transfers beyond it wait for one to free
// (and reuse it) instead of opening more: none fails.
TEST(HttpClient, TransfersBeyondTheConnectionCapWaitAndAllComplete) { expectEightStreamsOnAtMost(2, 1); }

// The loop writes its eventfd only when it is asleep: requests started from
// several threads, each right after the previous one completed (the loop
// going to sleep and waking all the time), must each start at once. A lost
// wake would leave a request queued until the loop's next timeout (1 s idle).
TEST(HttpClient, RequestsStartedWhileTheLoopSleepsOrWorksAreNeverLeftWaiting) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.begin(200, {});
    r.chunk("ok");
    r.end();
  });
  auto client = makeClient();
  std::vector<std::thread> threads;
  std::atomic<int64_t> slowestMs{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto c = std::make_shared<Collector>();
        auto started = std::chrono::steady_clock::now();
        client->start(post(server.baseUrl() + "/"), c, {});
        EXPECT_TRUE(wait(c).isOk());
        int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(c->completedAt - started).count();
        int64_t seen = slowestMs.load();
        while (ms > seen && !slowestMs.compare_exchange_weak(seen, ms)) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LT(slowestMs.load(), 900) << "a request waited for the loop's timeout";
  // Timers added from another thread while the loop sleeps run on time too.
  std::promise<void> fired;
  auto at = std::chrono::steady_clock::now();
  client->runAfter(5ms, [&] { fired.set_value(); });
  ASSERT_EQ(fired.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - at, 900ms);
}

TEST(HttpClient, ManyConcurrentStreamsOnOneThread) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) {
    r.begin(200, {{"Content-Type", "text/event-stream"}});
    for (int i = 0; i < 20; ++i) {
      r.chunk("data: " + std::to_string(i) + "\n\n");
      r.sleep(5ms);
    }
    r.end();
  });
  auto client = makeClient();
  std::vector<std::shared_ptr<Collector>> collectors;
  for (int i = 0; i < 200; ++i) {
    collectors.push_back(std::make_shared<Collector>());
    client->start(post(server.baseUrl() + "/", true), collectors.back(), {});
  }
  for (auto& c : collectors) {
    ASSERT_TRUE(wait(c).isOk());
    ASSERT_EQ(c->events.size(), 20u);
    EXPECT_EQ(c->events[19].second, "19");
  }
}

// Remembers the thread of each callback, to tell which I/O thread served a request.
struct ThreadRecorder final : HttpStreamHandler {
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::set<std::string> threadNames;
  size_t events = 0;
  std::promise<Status> done;
  void seen() {
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
    threadNames.insert(thisThreadsName());
  }
  void onResponseStart(int, const HttpHeaders&) override { seen(); }
  void onBodyData(std::string_view) override { seen(); }
  void onEvent(const SseEvent&) override {
    seen();
    ++events;
  }
  void onComplete(const Status& s) override {
    seen();
    done.set_value(s);
  }
};

// Requests go to the I/O threads in turn; each request's callbacks all come
// from its own thread, and the client counts the transfers of every thread.
TEST(HttpClientIoThreads, RequestsAreSpreadOverTheThreadsAndEachStaysOnOne) {
  MockHttpServer server = tickingServer(10);
  auto client = makeClient(3);
  EXPECT_EQ(client->ioThreads(), 3u);
  std::vector<std::shared_ptr<ThreadRecorder>> recorders;
  for (int i = 0; i < 9; ++i) {
    recorders.push_back(std::make_shared<ThreadRecorder>());
    client->start(post(server.baseUrl() + "/", true), recorders.back(), {});
  }
  size_t mostActive = 0;
  for (int i = 0; i < 100 && mostActive < 9; ++i) {
    mostActive = std::max(mostActive, client->activeTransfers());
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(mostActive, 9u);
  std::map<std::thread::id, int> requestsPerThread;
  std::set<std::string> threadNames;
  for (auto& recorder : recorders) {
    auto future = recorder->done.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(future.get().isOk());
    EXPECT_EQ(recorder->events, 10u);
    ASSERT_EQ(recorder->threads.size(), 1u) << "a request's callbacks came from more than one thread";
    ++requestsPerThread[*recorder->threads.begin()];
    threadNames.insert(recorder->threadNames.begin(), recorder->threadNames.end());
  }
  EXPECT_EQ(requestsPerThread.size(), 3u);
  EXPECT_EQ(threadNames, (std::set<std::string>{"mx-client-0", "mx-client-1", "mx-client-2"}));
  for (const auto& [thread, requests] : requestsPerThread) EXPECT_EQ(requests, 3);
  EXPECT_EQ(client->activeTransfers(), 0u);
}

// A request or timer started on an I/O thread (from a callback) stays on that
// thread, so that a chain of calls needs no hand-off; the first request here
// goes to the second thread, where timers from other threads never run.
TEST(HttpClientIoThreads, WhatAnIoThreadStartsStaysOnIt) {
  MockHttpServer server([](const MockRequest&, MockResponse& r) { r.send(200, {}, "ok"); });
  auto client = makeClient(3);
  auto warmUp = std::make_shared<Collector>();
  client->start(post(server.baseUrl() + "/"), warmUp, {});  // takes the first thread's turn
  ASSERT_TRUE(wait(warmUp).isOk());
  auto next = std::make_shared<ThreadRecorder>();
  std::promise<std::thread::id> timerThread;
  struct Chaining final : HttpStreamHandler {
    std::function<void()> then;
    std::thread::id thread;
    void onResponseStart(int, const HttpHeaders&) override {}
    void onBodyData(std::string_view) override {}
    void onEvent(const SseEvent&) override {}
    void onComplete(const Status&) override {
      thread = std::this_thread::get_id();
      then();
    }
  };
  auto first = std::make_shared<Chaining>();
  first->then = [&] {
    client->start(post(server.baseUrl() + "/"), next, {});
    client->runAfter(0ms, [&] { timerThread.set_value(std::this_thread::get_id()); });
  };
  client->start(post(server.baseUrl() + "/"), first, {});
  auto future = next->done.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(future.get().isOk());
  ASSERT_EQ(next->threads.size(), 1u);
  EXPECT_EQ(*next->threads.begin(), first->thread);
  auto timer = timerThread.get_future();
  ASSERT_EQ(timer.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(timer.get(), first->thread);
  std::promise<std::thread::id> otherTimer;  // from this thread: the first I/O thread's
  client->runAfter(0ms, [&] { otherTimer.set_value(std::this_thread::get_id()); });
  EXPECT_NE(otherTimer.get_future().get(), first->thread);
}

// A chain of calls stays on its thread; requests from elsewhere then go to the
// thread with fewer transfers, not in turn, so the chained one is not given more.
TEST(HttpClientIoThreads, RequestsFromElsewhereGoToTheThreadWithFewerTransfers) {
  MockHttpServer server = tickingServer(25);
  auto client = makeClient(2);
  std::vector<std::shared_ptr<ThreadRecorder>> chained;
  for (int i = 0; i < 4; ++i) chained.push_back(std::make_shared<ThreadRecorder>());
  auto first = std::make_shared<ThenOnComplete>();
  first->then = [&] {
    for (auto& recorder : chained) client->start(post(server.baseUrl() + "/", true), recorder, {});
  };
  client->start(post(server.baseUrl() + "/"), first, {});
  for (int i = 0; i < 200 && client->activeTransfers() < 4; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(client->activeTransfers(), 4u);
  std::vector<std::shared_ptr<ThreadRecorder>> fromHere;
  for (int i = 0; i < 4; ++i) {
    fromHere.push_back(std::make_shared<ThreadRecorder>());
    client->start(post(server.baseUrl() + "/", true), fromHere.back(), {});
  }
  auto threadOf = [](const std::shared_ptr<ThreadRecorder>& recorder) {
    auto future = recorder->done.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(future.get().isOk());
    EXPECT_EQ(recorder->threads.size(), 1u);
    return recorder->threads.empty() ? std::thread::id() : *recorder->threads.begin();
  };
  std::set<std::thread::id> chainedThreads, otherThreads;
  for (auto& recorder : chained) chainedThreads.insert(threadOf(recorder));
  for (auto& recorder : fromHere) otherThreads.insert(threadOf(recorder));
  ASSERT_EQ(chainedThreads.size(), 1u);
  ASSERT_EQ(otherThreads.size(), 1u) << "the four went to both threads";
  EXPECT_NE(*chainedThreads.begin(), *otherThreads.begin());
  EXPECT_EQ(client->activeTransfers(), 0u);
}

// Each thread has its share of the connection cap (rounded up): eight streams
// under a cap of four on two threads open at most four connections, and all complete.
TEST(HttpClientIoThreads, TheConnectionCapIsSharedBetweenTheThreads) { expectEightStreamsOnAtMost(4, 2); }

// A cancel reaches the transfer on whichever thread it runs, and shutdown
// completes what every thread has in flight; timers still run in due order.
TEST(HttpClientIoThreads, CancelShutdownAndTimersReachEveryThread) {
  MockHttpServer server = tickingServer(200);
  auto client = makeClient(3);
  std::promise<std::vector<int>> timersDone;
  auto order = std::make_shared<std::vector<int>>();
  client->runAfter(60ms, [order, &timersDone] { order->push_back(2); timersDone.set_value(*order); });
  client->runAfter(10ms, [order] { order->push_back(1); });
  std::vector<CancellationSource> sources(6);
  std::vector<std::shared_ptr<Collector>> collectors;
  for (auto& source : sources) {
    collectors.push_back(std::make_shared<Collector>());
    client->start(post(server.baseUrl() + "/", true), collectors.back(), source.token());
  }
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 3; ++i) {  // one on each thread: requests went to them in turn
    auto cancelledAt = std::chrono::steady_clock::now();
    sources[i].cancel();
    EXPECT_EQ(wait(collectors[i]).code(), Code::Cancelled) << i;
    EXPECT_LT(collectors[i]->completedAt - cancelledAt, 50ms) << i;
  }
  auto timers = timersDone.get_future();
  ASSERT_EQ(timers.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(timers.get(), (std::vector<int>{1, 2}));
  client->shutdown();
  for (int i = 3; i < 6; ++i) EXPECT_EQ(wait(collectors[i]).code(), Code::Cancelled) << i;
  EXPECT_EQ(client->activeTransfers(), 0u);
}

}  // namespace
}  // namespace mx::host
