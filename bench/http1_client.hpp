// The load generator's HTTP/1.1 client: many requests at once on one thread
// over epoll, each on its own connection (kept for the next request when the
// server allows it), each response's body handed over as it arrives, with the
// chunked encoding undone.
//
// What: the load generator shares the two cores with the server it measures.
// Through libcurl it spent ~0.2 ms of CPU per turn, an eighth of the machine's
// (a transfer set up and torn down per request, a poll after reads, clock
// reads, a socket callback and an epoll change per connection). This is the
// part of HTTP it needs and no more: plain http://host:port, one request per
// connection at a time, no redirects, no TLS, no proxies.
// Thread-safety: none; one thread owns an Http1Client and makes every call.
// Callbacks run on that thread, inside wait(); they may start() new requests.
// Ownership: the client owns its sockets and each request until its onDone.
// Blocking: only wait(), for at most the time it is given.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <sys/epoll.h>

namespace mx::bench {

// An HTTP/1.1 response read incrementally: the status line and headers, then
// the body as Content-Length, chunked encoding or "until the connection
// closes" says. Bytes may be split anywhere.
class Http1ResponseParser {
 public:
  enum class State { Head, Body, Done, Failed };
  using OnBody = std::function<void(std::string_view)>;

  // Consumes `bytes`; body bytes go to `onBody` as they are decoded. Returns
  // how many bytes belonged to this response (the rest, after Done, are not
  // its own; on Failed, error() says why).
  size_t feed(std::string_view bytes, const OnBody& onBody);
  // The peer closed the connection: ends a body that runs until close, and
  // fails a response that was not complete.
  void endOfStream();

  State state() const { return state_; }
  int status() const { return status_; }
  long retryAfterSeconds() const { return retryAfterSeconds_; }  // -1 when absent or not a number of seconds
  bool keepAlive() const { return keepAlive_; }
  const std::string& error() const { return error_; }

 private:
  enum class Body { None, Length, Chunked, UntilClose };
  enum class ChunkStep { Size, Data, DataEnd, Trailer };

  size_t feedHead(std::string_view bytes);
  bool parseHead(std::string_view head);
  bool parseHeader(std::string_view line);
  size_t feedChunked(std::string_view bytes, const OnBody& onBody);
  bool chunkSizeLine(std::string_view line);
  void fail(std::string message);

  State state_ = State::Head;
  std::string head_;
  int status_ = 0;
  long retryAfterSeconds_ = -1;
  bool keepAlive_ = true;
  bool http10_ = false;
  Body body_ = Body::None;
  size_t remaining_ = 0;
  ChunkStep chunkStep_ = ChunkStep::Size;
  std::string line_;
  std::string error_;
};

struct Http1Result {
  std::string error;  // empty when a whole response was read
  int status = 0;
  long retryAfterSeconds = -1;
};

struct Http1Request {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::string> headers;  // "Name: value"; Host and Content-Length are added
  std::string body;
  std::function<void(std::string_view)> onBody;
  std::function<void(const Http1Result&)> onDone;
};

class Http1Client {
 public:
  using Clock = std::chrono::steady_clock;

  // `baseUrl`: "http://host:port" with an IPv4 address or a name that
  // resolves to one. Throws std::invalid_argument for anything else.
  explicit Http1Client(const std::string& baseUrl, std::chrono::seconds timeout = std::chrono::seconds(600));
  ~Http1Client();
  Http1Client(const Http1Client&) = delete;
  Http1Client& operator=(const Http1Client&) = delete;

  // Sends the request on an idle kept-alive connection or a new one. A
  // failure (cannot connect, reset, a malformed response, the timeout) comes
  // to onDone with its error, never as an exception.
  void start(Http1Request request);
  // Waits up to `maxMs` for sockets, then handles what is ready.
  void wait(int maxMs);
  size_t inFlight() const { return inFlight_; }

 private:
  struct Connection;
  // Writes the request on `connection` (sent now, or once it is connected).
  void assign(Connection& connection, Http1Request request);
  void send(Connection& connection);
  void onReadable(Connection& connection);
  void complete(Connection& connection, std::string error, bool reusable = true);
  void retryOrFail(Connection& connection, std::string error);
  void watch(Connection& connection, uint32_t events);
  Connection* open(std::string& error);
  void close(Connection& connection);
  void expireOverdue();

  sockaddr_in address_{};
  std::string hostHeader_;
  std::chrono::seconds timeout_;
  int epollFd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;  // each knows its index here
  std::vector<Connection*> idle_;
  std::vector<std::unique_ptr<Connection>> closed_;  // freed after the events that may still name them
  std::vector<std::pair<Http1Request, std::string>> startFailures_;  // called back from wait(), not from start()
  size_t inFlight_ = 0;
  Clock::time_point lastSweep_ = Clock::now();
  std::vector<char> buffer_ = std::vector<char>(65536);
};

}  // namespace mx::bench
