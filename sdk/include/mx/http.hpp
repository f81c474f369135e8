// mx/http.hpp — the host's asynchronous HTTP client, for plugins that call APIs.
//
// What: one request per `start`, its response delivered through a handler:
// `onResponseStart` (status and headers), then either raw body chunks
// (`onBodyData`) or — when the request asks for it and the response is a 2xx
// `text/event-stream` — decoded Server-Sent Events (`onEvent`), then exactly
// one `onComplete`. The host drives every transfer of every plugin from its
// I/O threads (libcurl multi: keep-alive and connection reuse across calls;
// one thread unless `[server] http_client_threads` says more), so no thread is
// held per waiting stream. `runAfter` schedules work on an I/O thread (retry
// backoff without sleeping).
// Thread-safety: `start` and `runAfter` may be called from any thread. Handler
// callbacks for one request are serialised and run on one I/O thread. A
// request or task started from an I/O thread (a callback, a `runAfter` task)
// runs on that same thread, so a call's retries keep to one thread; one
// started elsewhere may run on any of them, so state it shares with a request
// started elsewhere needs its own synchronisation.
// Ownership: the client keeps the handler alive until onComplete returns.
// string_views passed to callbacks are valid only during the callback.
// Blocking: nothing blocks. Handler callbacks must not block either: they run
// on a shared I/O thread.
// Cancellation: cancelling the token aborts the transfer at once (the socket
// is closed) and completes with Code::Cancelled.
// Timeouts: `connectTimeout` bounds connecting; `idleTimeout` bounds the gap
// between received bytes (a stalled stream fails with DeadlineExceeded);
// `totalTimeout` (0 = none) bounds the whole transfer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mx/cancel.hpp"
#include "mx/status.hpp"

namespace mx {

struct HttpHeaders {
  std::vector<std::pair<std::string, std::string>> entries;  // names lower-cased

  std::optional<std::string_view> find(std::string_view name) const {
    for (const auto& [key, value] : entries) {
      if (key == name) {
        return std::string_view(value);
      }
    }
    return std::nullopt;
  }
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool decodeEventStream = false;
  std::chrono::milliseconds connectTimeout{10000};
  std::chrono::milliseconds idleTimeout{60000};
  std::chrono::milliseconds totalTimeout{0};
};

// One dispatched Server-Sent Event (WHATWG rules: type defaults to "message",
// multi-line data joined with "\n").
struct SseEvent {
  std::string_view event;
  std::string_view data;
  std::string_view id;
};

class HttpStreamHandler {
 public:
  virtual ~HttpStreamHandler() = default;
  virtual void onResponseStart(int status, const HttpHeaders& headers) = 0;
  virtual void onBodyData(std::string_view /*chunk*/) {}
  virtual void onEvent(const SseEvent& /*event*/) {}
  // Exactly once. OK when the response was received completely (whatever its
  // status); otherwise the transport failure (Unavailable for connection
  // errors and resets, DeadlineExceeded for timeouts, Cancelled).
  virtual void onComplete(const Status& transport) = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual void start(HttpRequest request, std::shared_ptr<HttpStreamHandler> handler,
                     CancellationToken cancel) = 0;
  virtual void runAfter(std::chrono::milliseconds delay, std::function<void()> task) = 0;
  // SDK ABI 1.4. The same as `start`, with the request shared instead of
  // copied: a caller that keeps its request for retries (a whole
  // conversation, for as long as the call lasts) holds one body with the
  // transfer, not two. The client keeps its reference until onComplete.
  // The default copies (for a client written against ABI 1.3).
  virtual void startShared(std::shared_ptr<const HttpRequest> request, std::shared_ptr<HttpStreamHandler> handler,
                           CancellationToken cancel) {
    start(*request, std::move(handler), std::move(cancel));
  }
};

}  // namespace mx
