// One client's Server-Sent Events stream on Pistache 0.0.5.
//
// open() (in the route handler) writes the status line and the response's
// headers; from then on every frame is HTTP chunk data. Bytes are sent
// straight to the socket from the producing thread through the stream's own
// duplicate of its descriptor (net/socket_writer.hpp); once the socket is
// full they go, for the rest of the stream, through Tcp::Peer::send(), which
// only enqueues on the transport's MPSC queue — the one write path of
// Pistache that is safe from any thread (see docs/operations.md) — and waits
// for the socket to drain. ResponseStream::flush() is never used: it drains the
// whole transport's queue synchronously in the middle of the reactor's event
// batch, which under load leaves a later writable event of another client
// without its data, and Pistache 0.0.5 then aborts the process ("could not
// find write data"). Frames carry `id:` (the run's event sequence),
// `event:` and the data split into one `data:` line per line.
// Frames made while an OutputBatch is open on the calling thread are gathered
// and leave as one HTTP chunk when the batch closes (net/output_batch.hpp);
// otherwise each frame is one chunk, sent at once. begin()'s status line and
// headers are gathered the same way: with the first frames, one send.
// The connection is kept for the client's next request when the request
// asked for it (`Connection: keep-alive`, the rule Pistache applies to its
// own responses); the next request is for after the stream's zero chunk (a
// request pipelined behind a live stream would interleave with it).
// Thread-safety: every method may be called from any thread (one mutex);
// frames keep the order of the calls.
// Blocking: never.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <pistache/http.h>
#include <pistache/peer.h>

#include "net/output_batch.hpp"
#include "net/socket_writer.hpp"

namespace mx::host::chat {

class SseConnection final : public DeferredWriter, public std::enable_shared_from_this<SseConnection> {
 public:
  // `socket`: a duplicate of the peer's descriptor, owned from now on (-1:
  // Pistache's queue only).
  SseConnection(std::weak_ptr<Pistache::Tcp::Peer> peer, int socket);

  // Queues "200 OK", the headers set on `response` and chunked framing;
  // call on the route handler's thread, instead of any response.send().
  static std::shared_ptr<SseConnection> open(Pistache::Http::ResponseWriter& response);
  // The same in two steps, for a handler whose work goes on after it returns
  // (on a worker: the reactor does not wait on the store): prepare() on the
  // handler's thread takes the client's socket and the headers set so far;
  // then begin() (the stream, with more header lines, each ending in \r\n)
  // or refuse() (a whole JSON response instead, with more header lines if
  // given) from any thread; the first of them counts (a refusal after begin()
  // only ends the stream).
  static std::shared_ptr<SseConnection> prepare(Pistache::Http::ResponseWriter& response);
  void begin(std::string_view headerLines);
  void refuse(int httpCode, std::string_view jsonBody, std::string_view headerLines = {});

  // False once the client is gone (the caller may stop sending).
  bool frame(int64_t id, std::string_view event, std::string_view data);
  // The same for data that is one line (compact JSON), which
  // `writeData(std::string& out)` appends to `out`, the stream's own buffer:
  // an artifact delta is escaped once, into place, and not copied or scanned
  // for line breaks afterwards. `writeData` runs under the stream's lock.
  template <class WriteData>
  bool frameOneLine(int64_t id, std::string_view event, WriteData&& writeData) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    reserveForBatch();
    appendFrameHead(pending_, id, event);
    writeData(pending_);
    pending_.append("\n\n", 2);
    return gathered();
  }
  bool comment(std::string_view text);
  // Ends the chunked body (the zero chunk) after what is pending; later calls do nothing.
  void finish();
  void markClosed();
  bool closed() const;
  // True once the client's TCP connection is gone (probes the peer).
  bool clientGone();

  void flushDeferred() override;

  // Appends event `id` to `out` as SSE text: its id and event lines, a "data:"
  // line per line of `data`, a blank line.
  static void appendFrame(std::string& out, int64_t id, std::string_view event, std::string_view data);
  // Its id and event lines and "data: ": the start of every frame (appendFrame, frameOneLine).
  static void appendFrameHead(std::string& out, int64_t id, std::string_view event);

 private:
  // Writes `pending_` now, or once the thread's output batch closes.
  bool gathered();
  // Room for as much as the last batch held, once, before a batch's first frame.
  void reserveForBatch() {
    if (pending_.empty() && pending_.capacity() < lastBatchBytes_) pending_.reserve(lastBatchBytes_);
  }
  // Sends `head_`, `pending_` as one chunk, then `tail` (raw bytes); `last` closes the stream.
  void sendLocked(std::string_view tail, bool last);

  mutable std::mutex mutex_;
  std::weak_ptr<Pistache::Tcp::Peer> peer_;
  SocketWriter writer_;
  std::string pending_;  // SSE bytes not yet handed to Pistache
  static constexpr size_t kMostBatchBytesReserved = 64 * 1024;
  size_t lastBatchBytes_ = 0;  // what the last send held (at most the above): reserved for the next
  std::string head_;     // begin()'s status line and headers, until they leave ahead of pending_
  std::string preparedHeaders_;  // prepare()'s header lines, until begin() or refuse()
  bool keepAlive_ = false;       // the request asked to keep the connection (Pistache's echo of it)
  bool begun_ = false;           // the status line is out (begin() or refuse())
  bool deferred_ = false;
  bool closed_ = false;
};

}  // namespace mx::host::chat
