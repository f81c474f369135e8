// A JSON response written later, from another thread, once blocking work
// (a database query) is done: the route hands the work to the blocking pool
// and returns, so that the HTTP reactor never waits on a round trip.
//
// What: captures the connection (weakly: a client that hung up meanwhile gets
// nothing) and the request id; the send functions write one whole response
// with Content-Length and `Connection: close` through Pistache's thread-safe
// path, the one safe write from another thread in Pistache 0.0.5 (its
// ResponseWriter belongs to the reactor and the handler's call).
// Thread-safety: copyable; each response is sent once, from any thread.
// Ownership: holds no connection alive.
// Blocking: no; the reactor writes.
#pragma once

#include <pistache/http.h>
#include <pistache/peer.h>

#include <memory>
#include <string>

#include "http/http_cache.hpp"
#include "mx/json.hpp"
#include "mx/status.hpp"

namespace mx::host::http {

class DeferredResponse {
 public:
  DeferredResponse(Pistache::Http::ResponseWriter& response, std::string requestId)
      : peer_(response.peer()), requestId_(std::move(requestId)) {}

  void json(int code, const Json& body) const;
  // The error body of the API for `status`, with its HTTP code.
  void error(const Status& status) const;
  // 200 with an ETag and Cache-Control, or 304 when the client has this body already.
  void cacheable(const Json& body, const std::string& ifNoneMatch, const HttpCachePolicy& policy) const;
  const std::string& requestId() const { return requestId_; }

 private:
  // `headers`: extra header lines, each ending in \r\n.
  void raw(int code, const std::string& payload, const std::string& headers = "") const;

  std::weak_ptr<Pistache::Tcp::Peer> peer_;
  std::string requestId_;
};

}  // namespace mx::host::http
