// Writes a client stream's bytes straight to its socket from the producing
// thread, and hands them to a fallback queue once the socket is full.
//
// What: Pistache 0.0.5's only thread-safe write (Tcp::Peer::send) costs a
// queue entry, an eventfd write, a reactor wake-up, two eventfd reads and then
// the send() itself, for every write. A stream's bytes are produced on the
// HTTP client's I/O thread (model deltas) or a worker: this writer send()s
// them there, on the writer's own duplicate of the connection's descriptor
// (so the descriptor can never name another connection, even after Pistache
// closed its own). When the socket takes less than everything (a slow
// client), the rest and every later write go to the fallback (Pistache's
// queue, which waits for the socket to drain) for the stream's remaining
// life, so bytes keep their order.
// Thread-safety: none; the owner serialises calls (SseConnection's mutex).
// Ownership: owns the descriptor it is given and closes it.
// Blocking: never (MSG_DONTWAIT).
#pragma once

#include <functional>
#include <string>

namespace mx::host {

class SocketWriter {
 public:
  using Fallback = std::function<void(std::string bytes)>;

  // `fd`: a descriptor of the connection's socket owned from now on, or -1
  // to use only the fallback.
  SocketWriter(int fd, Fallback fallback);
  ~SocketWriter();
  SocketWriter(const SocketWriter&) = delete;
  SocketWriter& operator=(const SocketWriter&) = delete;

  enum class Outcome { Sent, HandedOff, Failed };
  // Failed: the connection is broken (EPIPE, ECONNRESET, ...); nothing more
  // will be written through the socket.
  Outcome write(std::string bytes);
  // Closes the writer's descriptor (the connection itself stays open while
  // Pistache holds its own); later writes go to the fallback.
  void close();
  bool direct() const { return fd_ >= 0; }

 private:
  int fd_;
  Fallback fallback_;
};

}  // namespace mx::host
