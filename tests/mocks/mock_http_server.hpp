// Test support: a small HTTP/1.1 server on loopback for mocking external APIs.
//
// One thread per connection (tests only; the benchmark serves the same
// handlers from one epoll thread: bench/epoll_mock_server.hpp), keep-alive,
// Content-Length request bodies. The handler gets the
// parsed request and a writer that can do what real servers do, and what
// they do wrong: chunked streams split at any byte, delays, stalls, resets.
// Thread-safety: handlers run concurrently on connection threads; `requests()`
// may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mx::test {

struct MockRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// What a handler wrote, with when: bytes at an offset from the request
// (the handler's sleeps add up instead of blocking), for a server that plays
// responses from timers instead of a thread per connection.
struct ScheduledWrite {
  std::chrono::milliseconds at{0};
  std::string bytes;
  bool closeAfter = false;  // the handler closed or reset the connection here
};

class MockResponse {
 public:
  explicit MockResponse(int fd) : fd_(fd) {}
  explicit MockResponse(std::vector<ScheduledWrite>* schedule) : fd_(-1), schedule_(schedule) {}

  // A complete response with Content-Length.
  void send(int status, const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);
  // Starts a chunked response; then chunk() any number of times and end().
  void begin(int status, const std::vector<std::pair<std::string, std::string>>& headers);
  void chunk(std::string_view data);
  // Bytes already framed as chunks (frameChunk), written as they are: a
  // composed stream kept framed costs one copy per answer, not one per event.
  void framed(std::string_view chunks);
  void end();
  // Closes the connection abruptly (RST), as a crashed upstream does.
  void reset();
  // Closes the connection without finishing the response (FIN).
  void close();
  void sleep(std::chrono::milliseconds duration) {
    if (schedule_ != nullptr) {
      offset_ += duration;
    } else {
      std::this_thread::sleep_for(duration);
    }
  }
  bool failed() const { return failed_; }
  bool closed() const { return closed_; }

 private:
  void write(std::string_view data);

  int fd_;
  std::vector<ScheduledWrite>* schedule_ = nullptr;
  std::chrono::milliseconds offset_{0};
  bool failed_ = false;
  bool closed_ = false;
};

class MockHttpServer {
 public:
  using Handler = std::function<void(const MockRequest&, MockResponse&)>;

  explicit MockHttpServer(Handler handler);
  ~MockHttpServer();
  MockHttpServer(const MockHttpServer&) = delete;
  MockHttpServer& operator=(const MockHttpServer&) = delete;

  int port() const { return port_; }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<MockRequest> requests() const;
  size_t requestCount() const;
  size_t connectionCount() const { return connections_.load(); }
  void stop();

 private:
  void acceptLoop();
  void serveConnection(int fd);

  Handler handler_;
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  std::thread acceptThread_;
  mutable std::mutex mutex_;
  std::vector<MockRequest> requests_;
  std::vector<std::thread> connectionThreads_;
  std::vector<int> openFds_;
};

// `data` as one HTTP/1.1 chunk: its size in hex, CRLF, the data, CRLF.
std::string frameChunk(std::string_view data);

// The request line and headers (up to, not including, the blank line).
MockRequest parseRequestHead(std::string_view head);

// Splits `body` into pieces at the given byte offsets (sorted, within range).
std::vector<std::string> splitAt(std::string_view body, const std::vector<size_t>& offsets);

std::string readFile(const std::string& path);

}  // namespace mx::test
