// The host's HttpClient (mx/http.hpp) on one libcurl multi handle.
//
// One I/O thread waits in epoll on the sockets libcurl names (its socket
// API: only ready sockets are acted on, so a pass costs what is ready, not
// what is open), delivers response data to handlers (decoding SSE when asked),
// runs timers, and enforces idle timeouts. New requests, cancellations and
// timers reach the thread through a locked queue plus an eventfd. Connections are kept
// alive and reused across requests to the same host.
// Thread-safety: start/runAfter/shutdown from any thread.
// Blocking: start/runAfter never block; shutdown joins the I/O thread.
#pragma once

#include <memory>

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
    // call is per-stream memory.
    long receiveBufferBytes = 4096;
  };

  CurlHttpClient(std::shared_ptr<Logger> logger, Options options);
  ~CurlHttpClient() override;

  void start(HttpRequest request, std::shared_ptr<HttpStreamHandler> handler, CancellationToken cancel) override;
  void startShared(std::shared_ptr<const HttpRequest> request, std::shared_ptr<HttpStreamHandler> handler,
                   CancellationToken cancel) override;
  void runAfter(std::chrono::milliseconds delay, std::function<void()> task) override;

  // Completes every pending and running transfer with Cancelled, drops pending
  // timers and stops the I/O thread. Idempotent.
  void shutdown();

  size_t activeTransfers() const;

 private:
  class Loop;
  std::shared_ptr<Loop> loop_;
};

}  // namespace mx::host
