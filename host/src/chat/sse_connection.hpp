// One client's Server-Sent Events stream on Pistache 0.0.5.
//
// open() (in the route handler) queues the status line and the response's
// headers; from then on every frame is HTTP chunk data. Every byte goes
// through Tcp::Peer::send(), which only enqueues on the transport's MPSC
// queue — the one write path of Pistache that is safe from any thread (see
// docs/operations.md). ResponseStream::flush() is never used: it drains the
// whole transport's queue synchronously in the middle of the reactor's event
// batch, which under load leaves a later writable event of another client
// without its data, and Pistache 0.0.5 then aborts the process ("could not
// find write data"). Frames carry `id:` (the run's event sequence),
// `event:` and the data split into one `data:` line per line.
// Thread-safety: every method may be called from any thread (one mutex).
// Blocking: never.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <pistache/http.h>
#include <pistache/peer.h>

namespace mx::host::chat {

class SseConnection {
 public:
  explicit SseConnection(std::weak_ptr<Pistache::Tcp::Peer> peer) : peer_(std::move(peer)) {}

  // Queues "200 OK", the headers set on `response` and chunked framing;
  // call on the route handler's thread, instead of any response.send().
  static std::shared_ptr<SseConnection> open(Pistache::Http::ResponseWriter& response);

  // False once the client is gone (the caller may stop sending).
  bool frame(int64_t id, std::string_view event, std::string_view data);
  bool comment(std::string_view text);
  // Ends the chunked body (the zero chunk) after what is pending; later calls do nothing.
  void finish();
  void markClosed();
  bool closed() const;
  // True once the client's TCP connection is gone (probes the peer).
  bool clientGone();

  static std::string formatFrame(int64_t id, std::string_view event, std::string_view data);

 private:
  // Queues `bytes` (already framed); `last` closes the stream.
  bool enqueue(std::string bytes, bool last);

  mutable std::mutex mutex_;
  std::weak_ptr<Pistache::Tcp::Peer> peer_;
  bool closed_ = false;
};

}  // namespace mx::host::chat
