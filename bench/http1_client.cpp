#include "http1_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace mx::bench {

namespace {

constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxLine = 4096;

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool containsIgnoringCase(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (equalsIgnoringCase(text.substr(i, word.size()), word)) return true;
  }
  return false;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

template <class Number>
bool parseNumber(std::string_view text, Number& out, int base = 10) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

// ---- Http1ResponseParser ----

void Http1ResponseParser::fail(std::string message) {
  state_ = State::Failed;
  error_ = std::move(message);
}

size_t Http1ResponseParser::feed(std::string_view bytes, const OnBody& onBody) {
  size_t used = 0;
  while (used < bytes.size() && (state_ == State::Head || state_ == State::Body)) {
    std::string_view rest = bytes.substr(used);
    if (state_ == State::Head) {
      used += feedHead(rest);
    } else if (body_ == Body::Chunked) {
      used += feedChunked(rest, onBody);
    } else if (body_ == Body::Length) {
      size_t take = std::min(rest.size(), remaining_);
      onBody(rest.substr(0, take));
      used += take;
      if ((remaining_ -= take) == 0) state_ = State::Done;
    } else {  // until the connection closes
      onBody(rest);
      used += rest.size();
    }
  }
  return used;
}

void Http1ResponseParser::endOfStream() {
  if (state_ == State::Body && body_ == Body::UntilClose) {
    state_ = State::Done;
  } else if (state_ == State::Head) {
    fail(head_.empty() ? "the connection closed before a response" : "the connection closed inside the response's head");
  } else if (state_ == State::Body) {
    fail("the connection closed before the response's body ended");
  }
}

size_t Http1ResponseParser::feedHead(std::string_view bytes) {
  size_t searchFrom = head_.size() >= 3 ? head_.size() - 3 : 0;
  head_.append(bytes);
  size_t end = head_.find("\r\n\r\n", searchFrom);
  if (end == std::string::npos) {
    if (head_.size() > kMaxHead) fail("the response's head is over 64 KB");
    return bytes.size();
  }
  size_t used = end + 4 - (head_.size() - bytes.size());
  head_.resize(end + 2);  // each line with its CRLF
  if (parseHead(head_)) {
    bool interim = status_ >= 100 && status_ < 200;  // 100 Continue and the like: the real response follows
    head_.clear();
    if (interim) {
      state_ = State::Head;
      body_ = Body::None;
    }
  }
  return used;
}

bool Http1ResponseParser::parseHead(std::string_view head) {
  size_t lineEnd = head.find("\r\n");
  std::string_view statusLine = head.substr(0, lineEnd);
  if (statusLine.size() < 12 || statusLine.substr(0, 7) != "HTTP/1." || statusLine[8] != ' ' ||
      !parseNumber(statusLine.substr(9, 3), status_) || (statusLine.size() > 12 && statusLine[12] != ' ')) {
    fail("not an HTTP/1.x status line: \"" + std::string(statusLine.substr(0, 80)) + "\"");
    return false;
  }
  http10_ = statusLine[7] == '0';
  keepAlive_ = !http10_;
  bool lengthSeen = false;
  body_ = Body::UntilClose;
  for (size_t start = lineEnd + 2; start < head.size();) {
    size_t end = head.find("\r\n", start);
    if (!parseHeader(head.substr(start, end - start))) return false;
    if (body_ == Body::Length) lengthSeen = true;
    start = end + 2;
  }
  if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) body_ = Body::None;
  if (body_ == Body::UntilClose) keepAlive_ = false;
  if (body_ == Body::None || (lengthSeen && body_ == Body::Length && remaining_ == 0)) {
    state_ = State::Done;
  } else {
    state_ = State::Body;
  }
  return true;
}

bool Http1ResponseParser::parseHeader(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    fail("a header line without a name: \"" + std::string(line.substr(0, 80)) + "\"");
    return false;
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = trim(line.substr(colon + 1));
  if (equalsIgnoringCase(name, "transfer-encoding")) {
    if (containsIgnoringCase(value, "chunked")) body_ = Body::Chunked;
  } else if (equalsIgnoringCase(name, "content-length")) {
    if (!parseNumber(value, remaining_)) {
      fail("a Content-Length that is not a number: \"" + std::string(value.substr(0, 40)) + "\"");
      return false;
    }
    if (body_ != Body::Chunked) body_ = Body::Length;  // chunked wins (RFC 9112 §6.3)
  } else if (equalsIgnoringCase(name, "connection")) {
    if (containsIgnoringCase(value, "close")) keepAlive_ = false;
    if (containsIgnoringCase(value, "keep-alive")) keepAlive_ = true;
  } else if (equalsIgnoringCase(name, "retry-after")) {
    long seconds = -1;
    retryAfterSeconds_ = parseNumber(value, seconds) ? seconds : -1;  // an HTTP date reads as absent
  }
  return true;
}

size_t Http1ResponseParser::feedChunked(std::string_view bytes, const OnBody& onBody) {
  if (chunkStep_ == ChunkStep::Data) {
    size_t take = std::min(bytes.size(), remaining_);
    onBody(bytes.substr(0, take));
    if ((remaining_ -= take) == 0) chunkStep_ = ChunkStep::DataEnd;
    return take;
  }
  // The other steps read a line.
  size_t newline = bytes.find('\n');
  size_t take = newline == std::string_view::npos ? bytes.size() : newline + 1;
  line_.append(bytes.substr(0, take));
  if (newline == std::string_view::npos) {
    if (line_.size() > kMaxLine) fail("a chunk's size or trailer line is over 4 KB");
    return take;
  }
  std::string_view line = trim(std::string_view(line_).substr(0, line_.size() - 1));
  if (chunkStep_ == ChunkStep::Size) {
    chunkSizeLine(line);
  } else if (chunkStep_ == ChunkStep::DataEnd) {
    if (!line.empty()) fail("a chunk's data is longer than its size");
    chunkStep_ = ChunkStep::Size;
  } else if (line.empty()) {  // the end of the trailers
    state_ = State::Done;
  }
  line_.clear();
  return take;
}

bool Http1ResponseParser::chunkSizeLine(std::string_view line) {
  std::string_view digits = trim(line.substr(0, line.find(';')));
  if (!parseNumber(digits, remaining_, 16)) {
    fail("a chunk size that is not a hexadecimal number: \"" + std::string(line.substr(0, 40)) + "\"");
    return false;
  }
  chunkStep_ = remaining_ == 0 ? ChunkStep::Trailer : ChunkStep::Data;
  return true;
}

// ---- Http1Client ----

struct Http1Client::Connection {
  int fd = -1;
  size_t index = 0;
  bool connecting = false;
  bool reused = false;     // it has carried a response before: the server may have closed it meanwhile
  bool busy = false;
  bool anyResponseByte = false;
  bool retried = false;
  uint32_t watched = 0;
  std::string out;
  size_t outAt = 0;
  Http1ResponseParser parser;
  Http1Request request;
  Clock::time_point started;
};

Http1Client::Http1Client(const std::string& baseUrl, std::chrono::seconds timeout) : timeout_(timeout) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = baseUrl;
  if (rest.substr(0, kScheme.size()) != kScheme) throw std::invalid_argument("the URL " + baseUrl + " is not http://host:port");
  rest.remove_prefix(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  uint16_t port = 0;
  if (colon == std::string_view::npos || rest.find('/') != std::string_view::npos || !parseNumber(rest.substr(colon + 1), port) || port == 0) {
    throw std::invalid_argument("the URL " + baseUrl + " is not http://host:port (a port, and no path)");
  }
  std::string host(rest.substr(0, colon));
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    throw std::invalid_argument("the URL " + baseUrl + ": cannot resolve " + host + ": " + gai_strerror(rc));
  }
  address_ = *reinterpret_cast<sockaddr_in*>(found->ai_addr);
  address_.sin_port = htons(port);
  freeaddrinfo(found);
  hostHeader_ = std::string(rest);
  epollFd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epollFd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

Http1Client::~Http1Client() {
  for (auto& connection : connections_) {
    if (connection->fd >= 0) ::close(connection->fd);
  }
  ::close(epollFd_);
}

void Http1Client::start(Http1Request request) {
  Connection* connection = nullptr;
  std::string error;
  if (!idle_.empty()) {
    connection = idle_.back();
    idle_.pop_back();
  } else {
    connection = open(error);
  }
  if (connection == nullptr) {
    // Not called back from here: a caller that starts another request when one fails would recurse.
    startFailures_.emplace_back(std::move(request), std::move(error));
    return;
  }
  assign(*connection, std::move(request));
}

void Http1Client::assign(Connection& c, Http1Request request) {
  c.out.clear();
  c.out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\nHost: ").append(hostHeader_).append("\r\n");
  for (const auto& header : request.headers) c.out.append(header).append("\r\n");
  if (!request.body.empty() || request.method != "GET") c.out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  c.out.append("\r\n").append(request.body);
  c.outAt = 0;
  c.request = std::move(request);
  if (!c.request.onBody) c.request.onBody = [](std::string_view) {};
  c.parser = Http1ResponseParser();
  c.busy = true;
  c.anyResponseByte = false;
  c.started = Clock::now();
  ++inFlight_;
  if (!c.connecting) send(c);
}

Http1Client::Connection* Http1Client::open(std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bool connecting = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) != 0) {
    if (errno != EINPROGRESS) {
      error = "connecting to " + hostHeader_ + ": " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    connecting = true;
  }
  auto connection = std::make_unique<Connection>();
  connection->fd = fd;
  connection->connecting = connecting;
  connection->index = connections_.size();
  connections_.push_back(std::move(connection));
  Connection& c = *connections_.back();
  c.watched = EPOLLIN | (connecting ? EPOLLOUT : 0u);
  epoll_event event{};
  event.events = c.watched;
  event.data.ptr = &c;
  epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event);
  return &c;
}

void Http1Client::watch(Connection& connection, uint32_t events) {
  if (connection.watched == events) return;
  connection.watched = events;
  epoll_event event{};
  event.events = events;
  event.data.ptr = &connection;
  epoll_ctl(epollFd_, EPOLL_CTL_MOD, connection.fd, &event);
}

void Http1Client::send(Connection& c) {
  while (c.outAt < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.outAt, c.out.size() - c.outAt, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.outAt += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return watch(c, EPOLLIN | EPOLLOUT);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return retryOrFail(c, std::string("sending the request: ") + std::strerror(errno));
    }
  }
  c.out = std::string();  // a request body can be large; an idle connection keeps nothing
  watch(c, EPOLLIN);
}

void Http1Client::wait(int maxMs) {
  if (!startFailures_.empty()) maxMs = 0;
  epoll_event ready[256];
  int count = epoll_wait(epollFd_, ready, 256, maxMs);
  for (int i = 0; i < count; ++i) {
    auto& c = *static_cast<Connection*>(ready[i].data.ptr);
    if (c.fd < 0) continue;  // closed by an earlier event of this batch
    uint32_t events = ready[i].events;
    if (c.connecting) {
      int error = 0;
      socklen_t size = sizeof error;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0) {
        complete(c, "connecting to " + hostHeader_ + ": " + std::strerror(error));
        continue;
      }
      if ((events & EPOLLOUT) == 0) continue;
      c.connecting = false;
    }
    if ((events & EPOLLOUT) != 0 && c.busy && c.outAt < c.out.size()) send(c);
    if (c.fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) onReadable(c);
  }
  closed_.clear();
  auto failures = std::move(startFailures_);
  startFailures_.clear();
  for (auto& [request, error] : failures) {
    Http1Result result;
    result.error = std::move(error);
    request.onDone(result);
  }
  expireOverdue();
}

void Http1Client::onReadable(Connection& c) {
  ssize_t n = ::recv(c.fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (!c.busy) return close(c);  // an idle connection the server closed, or bytes nobody asked for
  if (n < 0) return retryOrFail(c, std::string("receiving the response: ") + std::strerror(errno));
  if (n == 0) {
    c.parser.endOfStream();
    if (c.parser.state() == Http1ResponseParser::State::Done) return complete(c, "");
    return retryOrFail(c, c.parser.error());
  }
  c.anyResponseByte = true;
  std::string_view bytes(buffer_.data(), static_cast<size_t>(n));
  size_t used = c.parser.feed(bytes, c.request.onBody);
  if (c.parser.state() == Http1ResponseParser::State::Failed) return complete(c, "a malformed response: " + c.parser.error());
  // Bytes beyond the response (nothing was asked for them): the connection is not kept.
  if (c.parser.state() == Http1ResponseParser::State::Done) complete(c, "", used == bytes.size());
}

// A kept-alive connection the server closed just as it was reused fails
// before any byte of a response: the request goes again, once, on a new one.
void Http1Client::retryOrFail(Connection& c, std::string error) {
  if (!c.reused || c.anyResponseByte || c.retried) return complete(c, std::move(error));
  Http1Request request = std::move(c.request);
  c.busy = false;
  --inFlight_;
  close(c);
  std::string openError;
  Connection* fresh = open(openError);
  if (fresh == nullptr) {
    startFailures_.emplace_back(std::move(request), std::move(openError));
    return;
  }
  fresh->retried = true;
  assign(*fresh, std::move(request));
}

void Http1Client::complete(Connection& c, std::string error, bool reusable) {
  Http1Request request = std::move(c.request);
  Http1Result result;
  result.status = c.parser.status();
  result.retryAfterSeconds = c.parser.retryAfterSeconds();
  bool keep = reusable && error.empty() && c.parser.keepAlive() && c.parser.state() == Http1ResponseParser::State::Done;
  result.error = std::move(error);
  c.busy = false;
  c.retried = false;
  --inFlight_;
  if (keep) {
    c.reused = true;
    idle_.push_back(&c);
  } else {
    close(c);
  }
  if (request.onDone) request.onDone(result);  // after the connection is free: it may start the next request on it
}

void Http1Client::close(Connection& c) {
  ::close(c.fd);  // also leaves the epoll set
  c.fd = -1;
  if (auto at = std::find(idle_.begin(), idle_.end(), &c); at != idle_.end()) idle_.erase(at);
  size_t index = c.index;
  closed_.push_back(std::move(connections_[index]));
  if (index + 1 != connections_.size()) {
    connections_[index] = std::move(connections_.back());
    connections_[index]->index = index;
  }
  connections_.pop_back();
}

void Http1Client::expireOverdue() {
  auto now = Clock::now();
  if (now - lastSweep_ < std::chrono::seconds(1)) return;
  lastSweep_ = now;
  std::vector<Connection*> overdue;
  for (auto& connection : connections_) {
    if (connection->busy && now - connection->started > timeout_) overdue.push_back(connection.get());
  }
  for (Connection* c : overdue) complete(*c, "no complete response after " + std::to_string(timeout_.count()) + " s");
  closed_.clear();
}

}  // namespace mx::bench
