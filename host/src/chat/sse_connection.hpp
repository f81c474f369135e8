// One client's Server-Sent Events stream on Pistache 0.0.5.
//
// The route handler (on a reactor) sends the status line and headers; from
// then on every frame is one HTTP chunk handed to Tcp::Peer::send(), which
// only enqueues on the transport's MPSC queue — the one write path of
// Pistache that is safe from any thread (see docs/operations.md). Frames carry
// `id:` (the run's event sequence), `event:` and the data split into one
// `data:` line per line.
// Thread-safety: every method may be called from any thread (one mutex).
// Blocking: never.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <pistache/peer.h>

namespace mx::host::chat {

class SseConnection {
 public:
  explicit SseConnection(std::weak_ptr<Pistache::Tcp::Peer> peer) : peer_(std::move(peer)) {}

  // False once the client is gone (the caller may stop sending).
  bool frame(int64_t id, std::string_view event, std::string_view data);
  bool comment(std::string_view text);
  // Ends the chunked body (the zero chunk); later calls do nothing.
  void finish();
  void markClosed();
  bool closed() const;
  // True once the client's TCP connection is gone (probes the peer).
  bool clientGone();

  static std::string formatFrame(int64_t id, std::string_view event, std::string_view data);

 private:
  bool sendChunk(const std::string& payload);

  mutable std::mutex mutex_;
  std::weak_ptr<Pistache::Tcp::Peer> peer_;
  bool closed_ = false;
};

}  // namespace mx::host::chat
