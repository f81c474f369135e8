// The host's HttpClient (mx/http.hpp) on libcurl multi handles.
//
// Each I/O thread (Options::ioThreads, one by default) has its own multi
// handle and connections; it waits in epoll on the sockets libcurl names (its
// socket API: only ready sockets are acted on, so a pass costs what is ready,
// not what is open), delivers response data to handlers (decoding SSE when
// asked), and enforces idle timeouts. A request or timer started on one of
// these threads (by a callback, a timer, or a graph step the thread runs)
// stays on it, so a chain of calls and retries keeps to one thread and needs
// no wake-up; others go to the thread with the fewest transfers, in turn
// among equals (timers: to the first). A
// request's callbacks all come from its thread; the timers of one thread run
// in the order they are due. New requests, cancellations and timers
// reach a thread through a locked queue plus an eventfd. Connections are kept
// alive and reused across requests to the same host.
// Thread-safety: start/runAfter/shutdown from any thread.
// Blocking: start/runAfter never block; shutdown joins the I/O threads.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "mx/http.hpp"
#include "mx/log.hpp"

namespace mx::host {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    long maxConnections = 4096;        // connection cache size of the multi handle
    long maxConnectionsPerHost = 0;    // 0 = unlimited
    // Connections open at once, in use or idle (0 = unlimited): a transfer
    // beyond it waits in libcurl's queue for one to free (an idle one is
    // closed to make room) instead of failing when descriptors run out.
    long maxTotalConnections = 0;
    // libcurl's receive buffer per transfer (its default is 16 KiB): model
    // streams arrive in events of a few hundred bytes, and a buffer per live
    // call is per-stream memory. libcurl allocates one byte more than this
    // (and takes at least 1,024): 1,279 + 1 bytes fill jemalloc's 1,280-byte
    // size class, as 1,024 + 1 would. Against 4 KiB: ~2.9 KB less per call in
    // flight, and no difference measured in CPU per turn on the fast profile,
    // whose bursts take more reads (docs/operations.md).
    long receiveBufferBytes = 1279;
    // I/O threads, each with its own share of the connection limits above
    // (rounded up): one core's worth of reading model streams is the ceiling
    // of one thread.
    size_t ioThreads = 1;
  };

  CurlHttpClient(std::shared_ptr<Logger> logger, Options options);
  ~CurlHttpClient() override;

  void start(HttpRequest request, std::shared_ptr<HttpStreamHandler> handler, CancellationToken cancel) override;
  void startShared(std::shared_ptr<const HttpRequest> request, std::shared_ptr<HttpStreamHandler> handler,
                   CancellationToken cancel) override;
  void runAfter(std::chrono::milliseconds delay, std::function<void()> task) override;

  // Completes every pending and running transfer with Cancelled, drops pending
  // timers and stops the I/O threads. Idempotent.
  void shutdown();

  // Transfers in progress, over every I/O thread.
  size_t activeTransfers() const;
  size_t ioThreads() const { return loops_.size(); }
  long receiveBufferBytes() const { return receiveBufferBytes_; }

 private:
  class Loop;
  // The loop whose thread calls, when it is one of this client's; else null.
  Loop* loopOfCaller() const;
  Loop& loopForRequest();

  std::vector<std::shared_ptr<Loop>> loops_;  // [0] also runs the timers set from other threads
  std::atomic<size_t> turn_{0};
  long receiveBufferBytes_;
};

}  // namespace mx::host
