// mx_latency_proxy: a TCP relay that delays every byte by half a round trip
// each way, so that the benchmark can put the server's PostgreSQL and Redis
// "in another data centre" (Supabase, a managed Redis: a millisecond or more
// per round trip) while they still run on this machine.
//
//   mx_latency_proxy --target-port PORT --rtt-ms MS
//
// Listens on a free loopback port, prints "listening on PORT", and relays
// each accepted connection to 127.0.0.1:target-port until stdin closes. One
// epoll thread; what a side sends is written to the other side rtt/2 later,
// in order (the delay is the same for every chunk, so one queue in arrival
// order is also in due order). A side that ends its output (FIN) ends the
// other side's input at the same delay; an error closes both at once.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "loopback_socket.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Side {
  int fd = -1;
  std::string pending;   // due, not yet written (the socket was full)
  bool finishAfter = false;  // the other side ended its output: shut this one's down once `pending` is out
  bool readEnded = false;
  bool outputEnded = false;  // shut down for writing: nothing more goes to it
};

struct Pair {
  uint64_t id = 0;
  Side sides[2];  // 0: the client, 1: the target
};

struct Delivery {  // bytes (or an end of output) due at one side
  Clock::time_point due;
  uint64_t pair;
  int to;
  std::string bytes;
  bool end = false;
};

class Proxy {
 public:
  Proxy(int targetPort, std::chrono::microseconds halfTrip) : targetPort_(targetPort), halfTrip_(halfTrip) {}

  int listen() {
    int port = 0;
    listenFd_ = mx::bench::listenOnLoopback(1024, port);
    if (listenFd_ < 0) {
      std::perror("mx_latency_proxy: listen");
      return -1;
    }
    epollFd_ = epoll_create1(EPOLL_CLOEXEC);
    watch(listenFd_, kListenTag, EPOLLIN);
    watch(STDIN_FILENO, kStdinTag, EPOLLIN);
    return port;
  }

  void run() {
    epoll_event events[256];
    while (!stopping_) {
      int count = epoll_wait(epollFd_, events, 256, waitMs());
      for (int i = 0; i < count; ++i) handle(events[i]);
      deliverDue();
    }
  }

 private:
  static constexpr uint64_t kListenTag = ~uint64_t{0};
  static constexpr uint64_t kStdinTag = ~uint64_t{0} - 1;

  void watch(int fd, uint64_t tag, uint32_t events, int op = EPOLL_CTL_ADD) { mx::bench::watch(epollFd_, fd, tag, events, op); }
  static uint64_t tagOf(uint64_t pair, int side) { return pair * 2 + static_cast<uint64_t>(side); }

  int waitMs() const {
    if (queue_.empty()) return 1000;
    auto until = std::chrono::duration_cast<std::chrono::microseconds>(queue_.front().due - Clock::now()).count();
    return until <= 0 ? 0 : static_cast<int>((until + 999) / 1000);
  }

  void handle(const epoll_event& event) {
    if (event.data.u64 == kStdinTag) {
      char byte;
      if (read(STDIN_FILENO, &byte, 1) <= 0) stopping_ = true;
      return;
    }
    if (event.data.u64 == kListenTag) return acceptAll();
    uint64_t pairId = event.data.u64 / 2;
    int side = static_cast<int>(event.data.u64 % 2);
    auto found = pairs_.find(pairId);
    if (found == pairs_.end()) return;
    Pair& pair = *found->second;
    if ((event.events & EPOLLOUT) != 0) flush(pair, side);
    if (pairs_.count(pairId) != 0 && (event.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) readFrom(pair, side);
  }

  void acceptAll() {
    for (;;) {
      int client = accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) return;
      int target = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(targetPort_));
      if (connect(target, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {  // loopback: at once
        close(target);
        close(client);
        continue;
      }
      fcntl(target, F_SETFL, fcntl(target, F_GETFL) | O_NONBLOCK);
      int on = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      setsockopt(target, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      auto pair = std::make_unique<Pair>();
      pair->id = nextPair_++;
      pair->sides[0].fd = client;
      pair->sides[1].fd = target;
      watch(client, tagOf(pair->id, 0), EPOLLIN);
      watch(target, tagOf(pair->id, 1), EPOLLIN);
      pairs_.emplace(pair->id, std::move(pair));
    }
  }

  void readFrom(Pair& pair, int side) {
    char buffer[65536];
    for (;;) {
      ssize_t n = recv(pair.sides[side].fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        queue_.push_back({Clock::now() + halfTrip_, pair.id, 1 - side, std::string(buffer, static_cast<size_t>(n))});
        continue;
      }
      if (n == 0) {  // the side ended its output: so does the relay, as late as its data
        pair.sides[side].readEnded = true;
        watch(pair.sides[side].fd, tagOf(pair.id, side), 0, EPOLL_CTL_MOD);
        queue_.push_back({Clock::now() + halfTrip_, pair.id, 1 - side, {}, true});
        return;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) closePair(pair.id);
      return;
    }
  }

  void deliverDue() {
    auto now = Clock::now();
    while (!queue_.empty() && queue_.front().due <= now) {
      Delivery delivery = std::move(queue_.front());
      queue_.pop_front();
      auto found = pairs_.find(delivery.pair);
      if (found == pairs_.end()) continue;
      Side& to = found->second->sides[delivery.to];
      if (delivery.end) {
        to.finishAfter = true;
      } else {
        to.pending.append(delivery.bytes);
      }
      flush(*found->second, delivery.to);
    }
  }

  void flush(Pair& pair, int side) {
    Side& to = pair.sides[side];
    while (!to.pending.empty()) {
      ssize_t n = send(to.fd, to.pending.data(), to.pending.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          watch(to.fd, tagOf(pair.id, side), (to.readEnded ? 0u : EPOLLIN) | EPOLLOUT, EPOLL_CTL_MOD);
          return;
        }
        return closePair(pair.id);
      }
      to.pending.erase(0, static_cast<size_t>(n));
    }
    watch(to.fd, tagOf(pair.id, side), to.readEnded ? 0u : EPOLLIN, EPOLL_CTL_MOD);
    if (to.finishAfter && !to.outputEnded) {
      shutdown(to.fd, SHUT_WR);
      to.outputEnded = true;
      if (pair.sides[0].outputEnded && pair.sides[1].outputEnded) closePair(pair.id);
    }
  }

  void closePair(uint64_t id) {
    auto found = pairs_.find(id);
    if (found == pairs_.end()) return;
    for (auto& side : found->second->sides) close(side.fd);  // also leaves the epoll set
    pairs_.erase(found);
  }

  int targetPort_;
  std::chrono::microseconds halfTrip_;
  int listenFd_ = -1;
  int epollFd_ = -1;
  bool stopping_ = false;
  uint64_t nextPair_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Pair>> pairs_;
  std::deque<Delivery> queue_;
};

}  // namespace

int main(int argc, char** argv) {
  int targetPort = 0;
  double rttMs = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--target-port") {
      targetPort = std::atoi(argv[i + 1]);
    } else if (flag == "--rtt-ms") {
      rttMs = std::atof(argv[i + 1]);
    } else {
      std::fprintf(stderr, "mx_latency_proxy: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (targetPort <= 0 || targetPort > 65535 || rttMs < 0) {
    std::fprintf(stderr, "usage: mx_latency_proxy --target-port PORT --rtt-ms MS (a port and a round trip of 0 ms or more)\n");
    return 2;
  }
  Proxy proxy(targetPort, std::chrono::microseconds(static_cast<int64_t>(rttMs * 500)));
  int port = proxy.listen();
  if (port < 0) return 1;
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  proxy.run();
  return 0;
}
