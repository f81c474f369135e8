// The benchmark's mock API server: the tests' mock handlers (MockHttpServer's
// Handler) served from one epoll thread, so ten thousand paced streams cost
// sockets and buffers, not ten thousand threads.
//
// A handler runs once per request with a recording MockResponse: what it
// writes is scheduled at the offsets its sleeps add up to, and the loop sends
// each piece when it is due (epoll_wait's timeout is the next due piece).
// HTTP/1.1 keep-alive, Content-Length request bodies, one request at a time
// per connection (as libcurl sends them).
// Recording (for the benchmark's direct baseline): `POST /_bench/record`
// starts it afresh, `GET /_bench/recording` stops it and answers the requests
// served meanwhile as JSON — {"calls": [{method, path, query, headers, body, startUs,
// endUs}]}, times from the start of the recording, endUs when the response's
// last byte was handed to the socket — so that a load generator can replay a
// server's model calls, in their order and overlapping as they did.
// Thread-safety: run() on one thread; stop() from any thread.
// Blocking: run() until stop() or until `stopOnEofOf` reads end-of-file.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "mock_http_server.hpp"

namespace mx::bench {

class EpollMockServer {
 public:
  explicit EpollMockServer(mx::test::MockHttpServer::Handler handler);
  ~EpollMockServer();
  EpollMockServer(const EpollMockServer&) = delete;
  EpollMockServer& operator=(const EpollMockServer&) = delete;

  int port() const { return port_; }
  // Serves until stop(), or until `stopOnEofOf` (e.g. stdin) is closed; -1: no such fd.
  void run(int stopOnEofOf = -1);
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection {
    int fd = -1;
    uint64_t id = 0;
    std::string in;
    std::string out;
    size_t outSent = 0;
    std::deque<std::pair<Clock::time_point, mx::test::ScheduledWrite>> schedule;
    bool closing = false;
    bool watchingWrites = false;
    long recordedCall = -1;  // index in recorded_ of the request being answered, while recording
  };
  struct RecordedCall {
    mx::test::MockRequest request;
    int64_t startUs = 0;
    int64_t endUs = -1;
  };
  struct Due {
    Clock::time_point at;
    uint64_t connection;
    bool operator>(const Due& other) const { return at > other.at; }
  };

  void accept();
  void onReadable(Connection& connection);
  void startNextRequest(Connection& connection);
  void playDue(Connection& connection);
  void flush(Connection& connection);
  void watchWrites(Connection& connection, bool on);
  void drop(uint64_t id);
  int waitMs() const;
  bool answerRecordingControl(const mx::test::MockRequest& request, mx::test::MockResponse& response);
  int64_t recordingUs() const;

  mx::test::MockHttpServer::Handler handler_;
  int listenFd_ = -1;
  int epollFd_ = -1;
  int wakeFd_ = -1;
  int port_ = 0;
  uint64_t nextId_ = 0;
  std::atomic<bool> stopping_{false};
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  bool recording_ = false;
  Clock::time_point recordingSince_;
  std::vector<RecordedCall> recorded_;
};

}  // namespace mx::bench
