#include "net/curl_socket_events.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mx::host {

namespace {
// Descriptors that are not libcurl's are tagged so act() can tell them apart.
constexpr uint64_t kOtherTag = uint64_t{1} << 32;
// Set in libcurl's per-socket pointer beside the epoll events, so that a
// socket registered for no events (never asked for) is told from an unknown one.
constexpr uintptr_t kRegistered = uintptr_t{1} << 31;
}  // namespace

CurlSocketEvents::CurlSocketEvents(CURLM* multi) : multi_(multi), epollFd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epollFd_ < 0) throw std::runtime_error(std::string("HTTP client: epoll_create1: ") + std::strerror(errno));
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlSocketEvents::onSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlSocketEvents::onTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlSocketEvents::~CurlSocketEvents() { close(epollFd_); }

void CurlSocketEvents::watch(int fd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kOtherTag | static_cast<uint32_t>(fd);
  epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &event);
}

// libcurl forgets a socket (CURL_POLL_REMOVE) at the end of every transfer,
// also when the connection goes back to its pool for the next one. The epoll
// registration stays then: the next transfer on the connection needs one
// EPOLL_CTL_MOD instead of a DEL, a failed MOD and an ADD (three system calls
// per model call), and a pooled connection's registration goes when libcurl
// closes the socket, or at its first event while libcurl does not want it.
// What a socket is registered for is kept as libcurl's per-socket pointer
// (curl_multi_assign), which starts as null whenever libcurl begins to track a
// socket: then the registration is set unconditionally, since the descriptor
// may be a new socket under a number a closed one had.
int CurlSocketEvents::onSocket(CURL* /*easy*/, curl_socket_t socket, int what, void* user, void* socketData) {
  auto* self = static_cast<CurlSocketEvents*>(user);
  if (what == CURL_POLL_REMOVE) {
    self->setWanted(socket, false);
    return 0;
  }
  uint32_t events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  auto registered = reinterpret_cast<uintptr_t>(socketData);
  if (registered == (kRegistered | events)) return 0;
  epoll_event event{};
  event.events = events;
  event.data.u64 = static_cast<uint32_t>(socket);
  if (epoll_ctl(self->epollFd_, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT) {
    epoll_ctl(self->epollFd_, EPOLL_CTL_ADD, socket, &event);
  }
  curl_multi_assign(self->multi_, socket, reinterpret_cast<void*>(kRegistered | events));
  self->setWanted(socket, true);
  return 0;
}

void CurlSocketEvents::setWanted(int fd, bool wanted) {
  if (fd < 0) return;
  if (static_cast<size_t>(fd) >= wanted_.size()) {
    if (!wanted) return;
    wanted_.resize(static_cast<size_t>(fd) + 1, false);
  }
  wanted_[static_cast<size_t>(fd)] = wanted;
}

bool CurlSocketEvents::isWanted(int fd) const { return fd >= 0 && static_cast<size_t>(fd) < wanted_.size() && wanted_[fd]; }

int CurlSocketEvents::onTimer(CURLM* /*multi*/, long timeoutMs, void* user) {
  auto* self = static_cast<CurlSocketEvents*>(user);
  self->due_ = timeoutMs < 0 ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(timeoutMs);
  return 0;
}

void CurlSocketEvents::wait(int capMs) {
  long timeout = capMs;
  if (due_ != Clock::time_point::max()) {
    auto until = std::chrono::ceil<std::chrono::milliseconds>(due_ - Clock::now()).count();
    timeout = std::max<long>(0, std::min<long>(timeout, until));
  }
  readyCount_ = std::max(0, epoll_wait(epollFd_, ready_, kMaxEvents, static_cast<int>(timeout)));
}

void CurlSocketEvents::act(const std::function<void(int fd)>& onOther) {
  int running = 0;
  for (int i = 0; i < readyCount_; ++i) {
    uint64_t tag = ready_[i].data.u64;
    int fd = static_cast<int>(static_cast<uint32_t>(tag));
    if ((tag & kOtherTag) != 0) {
      if (onOther) onOther(fd);
      continue;
    }
    if (!isWanted(fd)) {  // a pooled connection libcurl does not watch now: the peer closed it, or sent what no request asked
      epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
      continue;
    }
    uint32_t events = ready_[i].events;
    int flags = ((events & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) | ((events & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
                ((events & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR : 0);
    curl_multi_socket_action(multi_, fd, flags, &running);
  }
  readyCount_ = 0;
  if (Clock::now() >= due_) {
    due_ = Clock::time_point::max();
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  }
}

}  // namespace mx::host
