// The HTTP front end on Pistache 0.0.5.
//
// Every route goes through one wrapper that assigns the request id (taken from
// an incoming X-Request-Id when it is sane, else generated), echoes it in the
// response, catches any exception and answers with the one JSON error shape:
//   {"error":{"code":"...","message":"...","requestId":"..."}}
// Pistache traps handled here (see docs/operations.md): idle timers raised so
// long streams are not cut, the listen backlog passed through initArgs (the
// Options::backlog setting is ignored by 0.0.5), custom response headers as
// Header subclasses (raw headers are never written).
// The threads start() makes (listener, reactors) take Options::nice,
// Options::sliceMicros and Options::realtimePriority, set on the calling
// thread around their start and put
// back after (Linux: a nice value, a policy and a slice are a thread's, and new
// threads inherit them).
// Thread-safety: routes are added before start(); handlers run on the reactor
// threads concurrently. start()/stop() from one control thread.
// Blocking: handlers must not block; long work goes elsewhere.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/router.h>

#include "mx/json.hpp"
#include "mx/log.hpp"
#include "mx/status.hpp"

namespace mx::host::http {

struct RequestContext {
  std::string requestId;
};

using Handler = std::function<void(const Pistache::Rest::Request&, Pistache::Http::ResponseWriter&,
                                   RequestContext&)>;

// A response header with a name chosen at run time (X-Request-Id, X-Run-Id, ...).
class NamedHeader final : public Pistache::Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value);
  const char* name() const override { return name_.c_str(); }
  uint64_t hash() const override { return hash_; }
  void write(std::ostream& stream) const override { stream << value_; }

 private:
  std::string name_;
  std::string value_;
  uint64_t hash_;
};

void addHeader(Pistache::Http::ResponseWriter& response, std::string name, std::string value);

void sendJson(Pistache::Http::ResponseWriter& response, Pistache::Http::Code code, const Json& body);
void sendError(Pistache::Http::ResponseWriter& response, Pistache::Http::Code code,
               std::string_view errorCode, std::string_view message, const RequestContext& context);
void sendStatusError(Pistache::Http::ResponseWriter& response, const Status& status,
                     const RequestContext& context);
Pistache::Http::Code httpCodeFor(Code code);
// Query parameter `name` as an integer clamped to [low, high]; `fallback`
// when absent; InvalidArgument when it is not an integer.
Result<int> queryInt(const Pistache::Rest::Request& request, const std::string& name, int fallback, int low, int high);
// A whole JSON response as bytes, for the paths that write to the connection
// themselves: the status line, `headerLines` (each ending in \r\n),
// Content-Type, Content-Length and Connection, then `body`.
std::string jsonResponseText(int code, std::string_view headerLines, std::string_view body, bool keepAlive);
// The API's error shape: {"error":{"code","message","requestId"}}.
Json errorJson(std::string_view errorCode, std::string_view message, const std::string& requestId);
Json errorJson(const Status& status, const std::string& requestId);

std::string newRequestId();

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    int threads = 2;
    size_t maxRequestBytes = 1 << 20;
    std::chrono::seconds streamTimeout{3600};
    std::chrono::seconds keepaliveTimeout{75};
    int backlog = 4096;
    // The HTTP threads' nice value; below the server's others' so that a request
    // is taken up at once on busy cores. When the process may not lower it
    // (no CAP_SYS_NICE, RLIMIT_NICE too low), a warning and the threads run at
    // the caller's.
    int nice = 0;
    // When above 0: the HTTP threads run under SCHED_OTHER, even in a server
    // under SCHED_BATCH, with a scheduler slice of this many microseconds
    // (Linux 6.12 and later, EEVDF's custom slices). A thread woken with a
    // shorter slice than the running one's preempts it, so a request is read
    // at once on busy cores instead of after the running thread's slice; a
    // batch thread never preempts. When the kernel refuses it or keeps no
    // custom slice, a warning and the threads run as the caller. 0: as the caller.
    int sliceMicros = 0;
    // When above 0: the HTTP threads run under SCHED_FIFO at this priority
    // (1-99), ahead of every thread of the ordinary policies, so a request is
    // read the moment it arrives even on saturated cores (the slice then does
    // not apply). Needs CAP_SYS_NICE (or RLIMIT_RTPRIO); refused, a warning
    // and the threads run as the nice value and slice make them. The kernel's
    // real-time throttling (sched_rt_runtime_us) leaves the others their share.
    int realtimePriority = 0;
  };

  HttpServer(Options options, std::shared_ptr<Logger> logger);
  ~HttpServer();

  void route(Pistache::Http::Method method, const std::string& path, Handler handler);
  Status start();
  uint16_t port() const { return port_; }
  void stop();

 private:
  Pistache::Rest::Route::Handler wrap(Handler handler);

  Options options_;
  std::shared_ptr<Logger> logger_;
  Pistache::Rest::Router router_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  uint16_t port_ = 0;
  std::atomic<bool> running_{false};
};

}  // namespace mx::host::http
