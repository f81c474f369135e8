// Test support: a small HTTP/1.1 server on loopback for mocking external APIs.
//
// One thread per connection (tests only; the benchmark has its own epoll
// mock), keep-alive, Content-Length request bodies. The handler gets the
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

class MockResponse {
 public:
  explicit MockResponse(int fd) : fd_(fd) {}

  // A complete response with Content-Length.
  void send(int status, const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);
  // Starts a chunked response; then chunk() any number of times and end().
  void begin(int status, const std::vector<std::pair<std::string, std::string>>& headers);
  void chunk(std::string_view data);
  void end();
  // Closes the connection abruptly (RST), as a crashed upstream does.
  void reset();
  // Closes the connection without finishing the response (FIN).
  void close();
  void sleep(std::chrono::milliseconds duration) const { std::this_thread::sleep_for(duration); }
  bool failed() const { return failed_; }
  bool closed() const { return closed_; }

 private:
  void write(std::string_view data);

  int fd_;
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

// Splits `body` into pieces at the given byte offsets (sorted, within range).
std::vector<std::string> splitAt(std::string_view body, const std::vector<size_t>& offsets);

std::string readFile(const std::string& path);

}  // namespace mx::test
