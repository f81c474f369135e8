// Drives a libcurl multi handle through its socket API on an epoll set.
//
// What: libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and
// when its next timeout is due (CURLMOPT_TIMERFUNCTION); wait() sleeps in
// epoll until a socket is ready, that timeout is due or `capMs` passed, and
// act() hands libcurl exactly the ready sockets and the due timeout. A pass
// so costs what is ready, not what is open (curl_multi_perform/curl_multi_poll
// poll every transfer's socket on every pass). Other descriptors (an eventfd
// that wakes the loop) can share the wait: act() passes them back.
// Used by the host's HTTP client and by the benchmark's load generator.
// Thread-safety: one thread, the one that drives the multi handle.
// Ownership: does not own the multi handle; owns the epoll descriptor. Uses
// libcurl's per-socket pointer (curl_multi_assign) for itself.
// Blocking: wait() blocks up to its cap; act() runs libcurl's callbacks.
#pragma once

#include <curl/curl.h>
#include <sys/epoll.h>

#include <chrono>
#include <functional>
#include <vector>

namespace mx::host {

class CurlSocketEvents {
 public:
  explicit CurlSocketEvents(CURLM* multi);  // installs the socket and timer callbacks
  ~CurlSocketEvents();
  CurlSocketEvents(const CurlSocketEvents&) = delete;
  CurlSocketEvents& operator=(const CurlSocketEvents&) = delete;

  // Also ends the wait when `fd` is readable; act() passes it to its callback.
  void watch(int fd);
  // Sleeps until something is ready, libcurl's timeout is due, or capMs passed.
  void wait(int capMs);
  // Lets libcurl act on the sockets wait() found ready and on its due
  // timeout; `onOther` gets each watched descriptor that was ready.
  void act(const std::function<void(int fd)>& onOther = {});

 private:
  using Clock = std::chrono::steady_clock;
  static int onSocket(CURL* easy, curl_socket_t socket, int what, void* user, void* socketData);
  static int onTimer(CURLM* multi, long timeoutMs, void* user);
  void setWanted(int fd, bool wanted);
  bool isWanted(int fd) const;

  static constexpr int kMaxEvents = 256;
  CURLM* multi_;
  int epollFd_;
  epoll_event ready_[kMaxEvents];
  int readyCount_ = 0;
  std::vector<bool> wanted_;  // by descriptor: libcurl watches it now (its registration may outlive that)
  Clock::time_point due_ = Clock::time_point::max();  // libcurl's next timeout
};

}  // namespace mx::host
