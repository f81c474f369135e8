// Sockets the benchmark's servers share: a non-blocking listener on a free
// loopback port, and epoll registration by tag.
// Thread-safety: plain functions. Ownership: the caller owns what they return.
// Blocking: no.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace mx::bench {

// A listening socket on 127.0.0.1 at a port the kernel picks (set in `port`);
// -1 with errno set when it cannot listen.
inline int listenOnLoopback(int backlog, int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return -1;
  }
  port = ntohs(address.sin_port);
  return fd;
}

inline void watch(int epollFd, int fd, uint64_t tag, uint32_t events, int op = EPOLL_CTL_ADD) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  epoll_ctl(epollFd, op, fd, &event);
}

}  // namespace mx::bench
