#include "epoll_mock_server.hpp"
#include "loopback_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace mx::bench {

namespace {
constexpr uint64_t kListen = UINT64_MAX;
constexpr uint64_t kWake = UINT64_MAX - 1;
constexpr uint64_t kStopFd = UINT64_MAX - 2;
}  // namespace

EpollMockServer::EpollMockServer(mx::test::MockHttpServer::Handler handler) : handler_(std::move(handler)) {
  listenFd_ = listenOnLoopback(4096, port_);
  if (listenFd_ < 0) throw std::runtime_error(std::string("epoll mock: cannot listen: ") + std::strerror(errno));
  epollFd_ = epoll_create1(EPOLL_CLOEXEC);
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  watch(epollFd_, listenFd_, kListen, EPOLLIN);
  watch(epollFd_, wakeFd_, kWake, EPOLLIN);
}

EpollMockServer::~EpollMockServer() {
  for (auto& [id, connection] : connections_) ::close(connection->fd);
  ::close(listenFd_);
  ::close(wakeFd_);
  ::close(epollFd_);
}

void EpollMockServer::stop() {
  stopping_ = true;
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
}

int EpollMockServer::waitMs() const {
  if (due_.empty()) return 1000;
  auto until = std::chrono::ceil<std::chrono::milliseconds>(due_.top().at - Clock::now()).count();
  return static_cast<int>(std::max<long>(0, std::min<long>(until, 1000)));
}

void EpollMockServer::run(int stopOnEofOf) {
  if (stopOnEofOf >= 0) watch(epollFd_, stopOnEofOf, kStopFd, EPOLLIN);
  epoll_event events[512];
  while (!stopping_) {
    int ready = epoll_wait(epollFd_, events, 512, waitMs());
    for (int i = 0; i < ready && !stopping_; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListen) {
        accept();
      } else if (tag == kWake) {
        continue;
      } else if (tag == kStopFd) {
        char buffer[256];
        if (::read(stopOnEofOf, buffer, sizeof buffer) <= 0) stopping_ = true;
      } else {
        auto it = connections_.find(tag);
        if (it == connections_.end()) continue;
        Connection& connection = *it->second;
        if ((events[i].events & (EPOLLERR | EPOLLHUP)) != 0) {
          drop(tag);
          continue;
        }
        if ((events[i].events & EPOLLOUT) != 0) flush(connection);
        if ((events[i].events & EPOLLIN) != 0 && connections_.count(tag)) onReadable(connection);
      }
    }
    auto now = Clock::now();
    while (!due_.empty() && due_.top().at <= now) {
      uint64_t id = due_.top().connection;
      due_.pop();
      auto it = connections_.find(id);
      if (it != connections_.end()) playDue(*it->second);
    }
  }
}

void EpollMockServer::accept() {
  for (;;) {
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: all taken (or out of descriptors: retried on the next event)
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    connection->id = ++nextId_;
    watch(epollFd_, fd, connection->id, EPOLLIN);
    connections_.emplace(connection->id, std::move(connection));
  }
}

void EpollMockServer::onReadable(Connection& connection) {
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      connection.in.append(buffer, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buffer) break;  // drained: level-triggered epoll reports the rest, and an EOF
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return drop(connection.id);
    break;
  }
  startNextRequest(connection);
}

// One request at a time: the next is read once the current response is sent.
void EpollMockServer::startNextRequest(Connection& connection) {
  if (!connection.schedule.empty() || connection.outSent < connection.out.size() || connection.closing) return;
  size_t headerEnd = connection.in.find("\r\n\r\n");
  if (headerEnd == std::string::npos) return;
  mx::test::MockRequest request = mx::test::parseRequestHead(std::string_view(connection.in).substr(0, headerEnd));
  size_t length = request.headers.count("content-length") ? std::stoul(request.headers["content-length"]) : 0;
  if (connection.in.size() < headerEnd + 4 + length) return;
  request.body = connection.in.substr(headerEnd + 4, length);
  connection.in.erase(0, headerEnd + 4 + length);
  std::vector<mx::test::ScheduledWrite> writes;
  mx::test::MockResponse response(&writes);
  if (!answerRecordingControl(request, response)) {
    if (recording_) {
      connection.recordedCall = static_cast<long>(recorded_.size());
      recorded_.push_back({request, recordingUs(), -1});
    }
    handler_(request, response);
  }
  auto now = Clock::now();
  for (auto& write : writes) connection.schedule.emplace_back(now + write.at, std::move(write));
  playDue(connection);
}

void EpollMockServer::playDue(Connection& connection) {
  auto now = Clock::now();
  while (!connection.schedule.empty() && connection.schedule.front().first <= now) {
    auto& write = connection.schedule.front().second;
    if (connection.out.empty()) {
      connection.out = std::move(write.bytes);  // an answer written at once: no second copy
    } else {
      connection.out.append(write.bytes);
    }
    if (write.closeAfter) connection.closing = true;
    connection.schedule.pop_front();
  }
  if (!connection.schedule.empty()) due_.push({connection.schedule.front().first, connection.id});
  flush(connection);
}

void EpollMockServer::flush(Connection& connection) {
  while (connection.outSent < connection.out.size()) {
    ssize_t n = ::send(connection.fd, connection.out.data() + connection.outSent, connection.out.size() - connection.outSent,
                       MSG_NOSIGNAL);
    if (n > 0) {
      connection.outSent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watchWrites(connection, true);
    return drop(connection.id);
  }
  connection.out.clear();
  connection.outSent = 0;
  if (connection.schedule.empty() && connection.recordedCall >= 0) {
    recorded_[static_cast<size_t>(connection.recordedCall)].endUs = recordingUs();
    connection.recordedCall = -1;
  }
  if (connection.watchingWrites) watchWrites(connection, false);
  if (connection.closing) return drop(connection.id);
  if (connection.schedule.empty()) startNextRequest(connection);  // keep-alive: a request may be waiting
}

int64_t EpollMockServer::recordingUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - recordingSince_).count();
}

// The two recording routes; false for any other request (the handler's).
bool EpollMockServer::answerRecordingControl(const mx::test::MockRequest& request, mx::test::MockResponse& response) {
  if (request.path == "/_bench/record" && request.method == "POST") {
    recording_ = true;
    recordingSince_ = Clock::now();
    recorded_.clear();
    for (auto& [id, open] : connections_) open->recordedCall = -1;  // an answer still going out belongs to no recording
    response.send(204, {}, "");
    return true;
  }
  if (request.path == "/_bench/recording" && request.method == "GET") {
    recording_ = false;
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& call : recorded_) {
      calls.push_back({{"method", call.request.method}, {"path", call.request.path}, {"query", call.request.query}, {"headers", call.request.headers},
                       {"body", call.request.body}, {"startUs", call.startUs}, {"endUs", call.endUs}});
    }
    response.send(200, {{"Content-Type", "application/json"}}, nlohmann::json{{"calls", calls}}.dump());
    return true;
  }
  return false;
}

void EpollMockServer::watchWrites(Connection& connection, bool on) {
  if (connection.watchingWrites == on) return;
  connection.watchingWrites = on;
  watch(epollFd_, connection.fd, connection.id, EPOLLIN | (on ? EPOLLOUT : 0u), EPOLL_CTL_MOD);
}

void EpollMockServer::drop(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ::close(it->second->fd);  // closing removes it from the epoll set
  connections_.erase(it);
}

}  // namespace mx::bench
