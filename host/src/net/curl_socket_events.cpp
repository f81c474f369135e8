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

int CurlSocketEvents::onSocket(CURL* /*easy*/, curl_socket_t socket, int what, void* user, void* /*socketData*/) {
  auto* self = static_cast<CurlSocketEvents*>(user);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(self->epollFd_, EPOLL_CTL_DEL, socket, nullptr);  // may already be closed: nothing to do then
    return 0;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  event.data.u64 = static_cast<uint32_t>(socket);
  if (epoll_ctl(self->epollFd_, EPOLL_CTL_MOD, socket, &event) != 0 && errno == ENOENT) {
    epoll_ctl(self->epollFd_, EPOLL_CTL_ADD, socket, &event);
  }
  return 0;
}

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
