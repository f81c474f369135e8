// The load generator's HTTP/1.1 client: the response parser on bytes split
// everywhere and on each malformed input, and the client against a real
// socket server on port 0 (keep-alive, a connection closed while idle, refused,
// malformed and late responses).
#include "http1_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace mx::bench {
namespace {

using State = Http1ResponseParser::State;

struct Parsed {
  Http1ResponseParser parser;
  std::string body;
  size_t used = 0;
};

// Feeds `bytes` in pieces of `piece` bytes.
Parsed parse(std::string_view bytes, size_t piece = std::string_view::npos) {
  Parsed out;
  for (size_t at = 0; at < bytes.size() && (out.parser.state() == State::Head || out.parser.state() == State::Body);) {
    std::string_view part = bytes.substr(at, piece);
    out.used += out.parser.feed(part, [&](std::string_view b) { out.body.append(b); });
    at += part.size();
  }
  return out;
}

TEST(Http1ResponseParser, ReadsALengthDelimitedBodySplitAnywhere) {
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\ncontent-type: text/plain\r\n\r\nhello world";
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, std::string::npos}) {
    Parsed p = parse(response, piece);
    EXPECT_EQ(p.parser.state(), State::Done) << piece;
    EXPECT_EQ(p.parser.status(), 200);
    EXPECT_EQ(p.body, "hello world");
    EXPECT_TRUE(p.parser.keepAlive());
  }
}

TEST(Http1ResponseParser, UndoesChunkedEncodingWithExtensionsAndTrailers) {
  std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
      "5;name=value\r\nevent\r\n0B\r\n: one\n\ndata\r\n0\r\nX-Trailer: yes\r\n\r\n";
  for (size_t piece = 1; piece <= response.size(); ++piece) {
    Parsed p = parse(response, piece);
    ASSERT_EQ(p.parser.state(), State::Done) << piece << ": " << p.parser.error();
    EXPECT_EQ(p.body, "event: one\n\ndata") << piece;
    EXPECT_EQ(p.used, response.size());
  }
}

TEST(Http1ResponseParser, ABodyWithoutLengthRunsUntilTheConnectionCloses) {
  Parsed p = parse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
  EXPECT_EQ(p.parser.state(), State::Body);
  p.parser.endOfStream();
  EXPECT_EQ(p.parser.state(), State::Done);
  EXPECT_EQ(p.body, "all of it");
  EXPECT_FALSE(p.parser.keepAlive());
}

TEST(Http1ResponseParser, KeepAliveFollowsTheVersionAndTheConnectionHeader) {
  EXPECT_FALSE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").parser.keepAlive());
  EXPECT_TRUE(parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").parser.keepAlive());
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").parser.keepAlive());
}

TEST(Http1ResponseParser, ReadsRetryAfterInSecondsOnly) {
  Parsed refused = parse("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(refused.parser.state(), State::Done);
  EXPECT_EQ(refused.parser.status(), 503);
  EXPECT_EQ(refused.parser.retryAfterSeconds(), 2);
  EXPECT_EQ(parse("HTTP/1.1 503 x\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\nContent-Length: 0\r\n\r\n").parser.retryAfterSeconds(), -1);
}

TEST(Http1ResponseParser, ResponsesWithoutABodyEndAtTheirHead) {
  Parsed noContent = parse("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(noContent.parser.state(), State::Done);
  EXPECT_TRUE(noContent.parser.keepAlive());
  Parsed afterContinue = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 3);
  EXPECT_EQ(afterContinue.parser.state(), State::Done);
  EXPECT_EQ(afterContinue.parser.status(), 201);
  EXPECT_EQ(afterContinue.body, "ok");
}

TEST(Http1ResponseParser, LeavesTheBytesAfterItsResponse) {
  Parsed p = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
  EXPECT_EQ(p.parser.state(), State::Done);
  EXPECT_EQ(p.used, std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").size());
}

TEST(Http1ResponseParser, SaysWhatIsWrongWithAMalformedResponse) {
  struct Case {
    std::string bytes, error;
  };
  std::vector<Case> cases = {
      {"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line: \"SSH-2.0-OpenSSH\""},
      {"HTTP/1.1 2xx OK\r\n\r\n", "not an HTTP/1.x status line"},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "a header line without a name: \"no colon here\""},
      {"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n", "a Content-Length that is not a number: \"twelve\""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size that is not a hexadecimal number: \"zz\""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "a chunk's data is longer than its size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(5000, '1'), "a chunk's size or trailer line is over 4 KB"},
      {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(70000, 'a'), "the response's head is over 64 KB"},
  };
  for (const auto& c : cases) {
    Parsed p = parse(c.bytes);
    EXPECT_EQ(p.parser.state(), State::Failed) << c.bytes.substr(0, 60);
    EXPECT_NE(p.parser.error().find(c.error), std::string::npos) << p.parser.error();
  }
}

TEST(Http1ResponseParser, SaysWhereTheConnectionClosedTooEarly) {
  Http1ResponseParser none;
  none.endOfStream();
  EXPECT_EQ(none.error(), "the connection closed before a response");
  Parsed inHead = parse("HTTP/1.1 200 OK\r\nContent-");
  inHead.parser.endOfStream();
  EXPECT_EQ(inHead.parser.error(), "the connection closed inside the response's head");
  Parsed inBody = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  inBody.parser.endOfStream();
  EXPECT_EQ(inBody.parser.state(), State::Failed);
  EXPECT_EQ(inBody.parser.error(), "the connection closed before the response's body ended");
}

// A server on port 0 that gives each accepted connection, in turn, to `serve`.
class TinyServer {
 public:
  explicit TinyServer(std::function<void(int fd, int connection)> serve) : serve_(std::move(serve)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    socklen_t size = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (int n = 0;; ++n) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        accepted_++;
        serve_(fd, n);
        ::close(fd);
      }
    });
  }
  ~TinyServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_; }

 private:
  std::function<void(int, int)> serve_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Reads one request (head and Content-Length body); empty at end of file.
std::string readRequest(int fd) {
  std::string bytes;
  char buffer[4096];
  while (true) {
    size_t head = bytes.find("\r\n\r\n");
    if (head != std::string::npos) {
      size_t length = 0;
      if (size_t at = bytes.find("Content-Length: "); at != std::string::npos) length = std::stoul(bytes.substr(at + 16));
      if (bytes.size() >= head + 4 + length) return bytes;
    }
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return {};
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

void write(int fd, std::string_view bytes) { ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); }

struct Outcome {
  bool done = false;
  Http1Result result;
  std::string body;
};

Http1Request post(Outcome& outcome, std::string body = "{}") {
  Http1Request request;
  request.method = "POST";
  request.target = "/v1/messages";
  request.headers = {"Content-Type: application/json"};
  request.body = std::move(body);
  request.onBody = [&outcome](std::string_view bytes) { outcome.body.append(bytes); };
  request.onDone = [&outcome](const Http1Result& result) {
    outcome.done = true;
    outcome.result = result;
  };
  return request;
}

void runUntilDone(Http1Client& client, const Outcome& outcome) {
  for (int i = 0; i < 200 && !outcome.done; ++i) client.wait(50);
  ASSERT_TRUE(outcome.done) << "no answer within 10 s";
}

// Sends one request and waits for its outcome (its callbacks are done when it returns).
Outcome exchange(Http1Client& client, std::string body = "{}") {
  Outcome outcome;
  client.start(post(outcome, std::move(body)));
  runUntilDone(client, outcome);
  return outcome;
}

TEST(Http1Client, SendsTheRequestAndReusesAKeptAliveConnection) {
  std::vector<std::string> requests;
  TinyServer server([&](int fd, int) {
    for (std::string request; !(request = readRequest(fd)).empty();) {
      requests.push_back(request);
      write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndata\r\n0\r\n\r\n");
    }
  });
  Http1Client client(server.url());
  for (int i = 0; i < 3; ++i) {
    Outcome outcome = exchange(client, "{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(outcome.result.error, "");
    EXPECT_EQ(outcome.result.status, 200);
    EXPECT_EQ(outcome.body, "data");
  }
  EXPECT_EQ(server.accepted(), 1);
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2], "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:" + server.url().substr(17) +
                             "\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"n\":2}");
  EXPECT_EQ(client.inFlight(), 0u);
}

TEST(Http1Client, SendsARequestAgainOnANewConnectionWhenTheServerClosedTheIdleOne) {
  TinyServer server([&](int fd, int) {
    readRequest(fd);
    write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });  // then closes: the connection the client keeps is gone
  Http1Client client(server.url());
  EXPECT_EQ(exchange(client).result.error, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the close arrives, but the client is not waiting
  Outcome second = exchange(client);
  EXPECT_EQ(second.result.error, "");
  EXPECT_EQ(second.body, "ok");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Http1Client, DoesNotKeepAConnectionThatSentMoreThanTheResponse) {
  TinyServer server([&](int fd, int) {
    readRequest(fd);
    write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n");
    readRequest(fd);  // a reuse would wait here for ever
  });
  Http1Client client(server.url());
  EXPECT_EQ(exchange(client).result.error, "");
  EXPECT_EQ(exchange(client).result.error, "");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Http1Client, ReportsARefusedConnectionFromWaitNotFromStart) {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(probe);  // nobody listens on that port now
  Http1Client client("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)));
  Outcome outcome;
  client.start(post(outcome));
  EXPECT_FALSE(outcome.done);
  runUntilDone(client, outcome);
  EXPECT_NE(outcome.result.error.find("connecting to 127.0.0.1:"), std::string::npos) << outcome.result.error;
  EXPECT_NE(outcome.result.error.find("refused"), std::string::npos) << outcome.result.error;
}

TEST(Http1Client, ReportsAMalformedResponseAndAResponseCutShort) {
  TinyServer server([&](int fd, int n) {
    readRequest(fd);
    write(fd, n == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort");
  });
  Http1Client client(server.url());
  EXPECT_EQ(exchange(client).result.error, "a malformed response: a Content-Length that is not a number: \"nine\"");
  EXPECT_EQ(exchange(client).result.error, "the connection closed before the response's body ended");
}

TEST(Http1Client, GivesUpOnAResponseThatDoesNotComeInTime) {
  std::atomic<bool> release{false};
  TinyServer server([&](int fd, int) {
    readRequest(fd);
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
  Http1Client client(server.url(), std::chrono::seconds(1));
  Outcome outcome = exchange(client);
  release = true;
  EXPECT_EQ(outcome.result.error, "no complete response after 1 s");
}

TEST(Http1Client, RefusesAUrlItCannotUse) {
  EXPECT_THROW(Http1Client("https://127.0.0.1:443"), std::invalid_argument);
  EXPECT_THROW(Http1Client("http://127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(Http1Client("http://127.0.0.1:80/api"), std::invalid_argument);
}

}  // namespace
}  // namespace mx::bench
