#include "http/http_server.hpp"

#include "http/thread_sched.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>

#include <sched.h>
#include <sys/resource.h>

namespace mx::host::http {

using Pistache::Http::Code;
using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;

NamedHeader::NamedHeader(std::string name, std::string value)
    : name_(std::move(name)),
      value_(std::move(value)),
      hash_(Pistache::Http::Header::detail::hash(name_.c_str())) {}

void addHeader(ResponseWriter& response, std::string name, std::string value) {
  response.headers().add(std::make_shared<NamedHeader>(std::move(name), std::move(value)));
}

void sendJson(ResponseWriter& response, Code code, const Json& body) {
  response.headers().add<Pistache::Http::Header::ContentType>(MIME(Application, Json));
  response.send(code, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Result<int> queryInt(const Pistache::Rest::Request& request, const std::string& name, int fallback, int low, int high) {
  auto value = request.query().get(name);
  if (!value) return fallback;
  const std::string& text = *value;
  long long parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return invalidArgumentError("query parameter " + name + " must be an integer, not \"" + text + "\"");
  }
  return static_cast<int>(std::clamp<long long>(parsed, low, high));
}

std::string jsonResponseText(int code, std::string_view headerLines, std::string_view body, bool keepAlive) {
  std::string text = "HTTP/1.1 " + std::to_string(code) + " " + Pistache::Http::codeString(static_cast<Code>(code)) + "\r\n";
  text.append(headerLines);
  text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  text.append(body);
  return text;
}

Json errorJson(std::string_view errorCode, std::string_view message, const std::string& requestId) {
  return Json{{"error", {{"code", errorCode}, {"message", message}, {"requestId", requestId}}}};
}

Json errorJson(const Status& status, const std::string& requestId) {
  return errorJson(codeName(status.code()), status.message(), requestId);
}

void sendError(ResponseWriter& response, Code code, std::string_view errorCode,
               std::string_view message, const RequestContext& context) {
  sendJson(response, code, errorJson(errorCode, message, context.requestId));
}

Code httpCodeFor(mx::Code code) {
  switch (code) {
    case mx::Code::Ok: return Code::Ok;
    case mx::Code::InvalidArgument:
    case mx::Code::OutOfRange: return Code::Bad_Request;
    case mx::Code::Unauthenticated: return Code::Unauthorized;
    case mx::Code::PermissionDenied: return Code::Forbidden;
    case mx::Code::NotFound: return Code::Not_Found;
    case mx::Code::AlreadyExists:
    case mx::Code::Aborted: return Code::Conflict;
    case mx::Code::FailedPrecondition: return Code::Precondition_Failed;
    case mx::Code::ResourceExhausted: return Code::Too_Many_Requests;
    case mx::Code::Cancelled: return Code::Request_Timeout;
    case mx::Code::DeadlineExceeded: return Code::Gateway_Timeout;
    case mx::Code::Unimplemented: return Code::Not_Implemented;
    case mx::Code::Unavailable: return Code::Service_Unavailable;
    default: return Code::Internal_Server_Error;
  }
}

void sendStatusError(ResponseWriter& response, const Status& status, const RequestContext& context) {
  sendError(response, httpCodeFor(status.code()), codeName(status.code()), status.message(), context);
}

std::string newRequestId() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "req_";
  uint64_t bits = generator();
  for (int i = 0; i < 16; ++i) {
    id.push_back(kHex[(bits >> (i * 4)) & 0xF]);
  }
  return id;
}

namespace {

bool isSaneRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7E) {
      return false;
    }
  }
  return true;
}

std::string requestIdOf(const Request& request) {
  auto raw = request.headers().tryGetRaw("X-Request-Id");
  if (raw && isSaneRequestId(raw->value())) {
    return raw->value();
  }
  return newRequestId();
}

}  // namespace

HttpServer::HttpServer(Options options, std::shared_ptr<Logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {
  router_.addNotFoundHandler(wrap([](const Request& request, ResponseWriter& response, RequestContext& context) {
    sendError(response, Code::Not_Found, "not_found",
              "no route for " + std::string(Pistache::Http::methodString(request.method())) + " " +
                  request.resource(),
              context);
  }));
}

HttpServer::~HttpServer() { stop(); }

Pistache::Rest::Route::Handler HttpServer::wrap(Handler handler) {
  auto logger = logger_;
  size_t limit = options_.maxRequestBytes;
  return [handler = std::move(handler), logger, limit](const Request& request, ResponseWriter response) {
    RequestContext context{requestIdOf(request)};
    addHeader(response, "X-Request-Id", context.requestId);
    if (request.body().size() > limit) {
      sendError(response, Code::Request_Entity_Too_Large, "payload_too_large",
                "request body of " + std::to_string(request.body().size()) + " bytes is over the limit of " +
                    std::to_string(limit) + " bytes",
                context);
      return Pistache::Rest::Route::Result::Ok;
    }
    try {
      handler(request, response, context);
    } catch (const std::exception& e) {
      logger->error("request " + context.requestId + " " + request.resource() + " failed: " + e.what());
      sendError(response, Code::Internal_Server_Error, "internal", "internal error", context);
    } catch (...) {
      logger->error("request " + context.requestId + " " + request.resource() + " failed");
      sendError(response, Code::Internal_Server_Error, "internal", "internal error", context);
    }
    return Pistache::Rest::Route::Result::Ok;
  };
}

void HttpServer::route(Pistache::Http::Method method, const std::string& path, Handler handler) {
  router_.addRoute(method, path, wrap(std::move(handler)));
}

namespace {

// Sets the calling thread's nice value until destroyed (Linux: PRIO_PROCESS with 0 is the calling thread).
class ThreadNice {
 public:
  ThreadNice(int nice, Logger& logger) {
    errno = 0;
    int current = getpriority(PRIO_PROCESS, 0);
    if (errno != 0 || current == nice) return;
    if (setpriority(PRIO_PROCESS, 0, nice) != 0) {
      logger.warn("[server] http_nice = " + std::to_string(nice) + ": setpriority: " + std::strerror(errno) +
                  "; the HTTP threads run at nice " + std::to_string(current) +
                  " (lowering a nice value needs CAP_SYS_NICE or a high enough RLIMIT_NICE)");
      return;
    }
    restore_ = current;
  }
  ~ThreadNice() {
    if (restore_) setpriority(PRIO_PROCESS, 0, *restore_);  // raising it back needs no privilege
  }
  ThreadNice(const ThreadNice&) = delete;
  ThreadNice& operator=(const ThreadNice&) = delete;

 private:
  std::optional<int> restore_;
};

// Puts the calling thread under SCHED_OTHER with a custom slice until destroyed,
// keeping its nice value.
class ThreadSlice {
 public:
  ThreadSlice(int micros, Logger& logger) {
    if (micros <= 0) return;
    std::string setting = "[server] http_slice_us = " + std::to_string(micros);
    ThreadSched before;
    if (!readThreadSched(before)) {
      logger.warn(setting + ": sched_getattr: " + std::strerror(errno) + "; the HTTP threads keep the server's policy");
      return;
    }
    ThreadSched wanted = before;
    wanted.size = sizeof(ThreadSched);
    wanted.policy = SCHED_OTHER;
    wanted.flags = 0;
    wanted.runtimeNanos = static_cast<uint64_t>(micros) * 1000;
    if (!writeThreadSched(wanted)) {
      logger.warn(setting + ": sched_setattr: " + std::strerror(errno) + "; the HTTP threads keep the server's policy");
      return;
    }
    // Back to the kernel's slice after: sched_getattr reports the slice in
    // force, not whether it was a custom one.
    before.runtimeNanos = 0;
    restore_ = before;
    ThreadSched now;
    if (readThreadSched(now) && now.runtimeNanos != wanted.runtimeNanos) {
      logger.warn(setting + ": this kernel keeps no custom slice (Linux 6.12 or later does); the HTTP threads run "
                  "under SCHED_OTHER with the kernel's slice");
    }
  }
  ~ThreadSlice() {
    if (restore_) writeThreadSched(*restore_);  // back to batch, or to a longer slice: no privilege needed
  }
  ThreadSlice(const ThreadSlice&) = delete;
  ThreadSlice& operator=(const ThreadSlice&) = delete;

 private:
  std::optional<ThreadSched> restore_;
};

// Puts the calling thread under SCHED_FIFO at `priority` until destroyed.
class ThreadRealtime {
 public:
  ThreadRealtime(int priority, Logger& logger) {
    if (priority <= 0) return;
    ThreadSched before;
    if (!readThreadSched(before)) {
      logger.warn(setting(priority) + ": sched_getattr: " + std::strerror(errno) + "; the HTTP threads keep their policy");
      return;
    }
    ThreadSched wanted;
    wanted.policy = SCHED_FIFO;
    wanted.priority = static_cast<uint32_t>(priority);
    if (!writeThreadSched(wanted)) {
      logger.warn(setting(priority) + ": sched_setattr: " + std::strerror(errno) +
                  "; the HTTP threads keep their policy (SCHED_FIFO needs CAP_SYS_NICE or RLIMIT_RTPRIO)");
      return;
    }
    before.size = sizeof(ThreadSched);
    before.runtimeNanos = 0;  // the slice in force, custom or not: the kernel's (a ThreadSlice outside puts its own back)
    restore_ = before;
  }
  ~ThreadRealtime() {
    if (restore_) writeThreadSched(*restore_);  // leaving a real-time policy needs no privilege
  }
  ThreadRealtime(const ThreadRealtime&) = delete;
  ThreadRealtime& operator=(const ThreadRealtime&) = delete;

 private:
  static std::string setting(int priority) { return "[server] http_realtime_priority = " + std::to_string(priority); }
  std::optional<ThreadSched> restore_;
};

}  // namespace

Status HttpServer::start() {
  try {
    Pistache::Address address(options_.host, Pistache::Port(options_.port));
    endpoint_ = std::make_unique<Pistache::Http::Endpoint>(address);
    Pistache::Flags<Pistache::Tcp::Options> flags(Pistache::Tcp::Options::ReuseAddr |
                                                  Pistache::Tcp::Options::NoDelay);
    auto opts = Pistache::Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(flags)
                    // Pistache's own cap answers 413 without our JSON shape: keep it
                    // above the configured limit, which the route wrapper enforces.
                    .maxRequestSize(options_.maxRequestBytes * 4 + 65536)
                    .headerTimeout(options_.streamTimeout)
                    .bodyTimeout(options_.streamTimeout)
                    .keepaliveTimeout(options_.keepaliveTimeout);
    endpoint_->init(opts);
    // Options::backlog is ignored by Pistache 0.0.5; the listener takes it here.
    endpoint_->initArgs(options_.threads, flags, std::string("mx-http"), options_.backlog);
    endpoint_->setHandler(router_.handler());
    {
      ThreadNice httpThreads(options_.nice, *logger_);  // inherited by the threads serveThreaded() starts
      ThreadSlice httpSlice(options_.sliceMicros, *logger_);  // after the nice value, which it keeps
      ThreadRealtime httpRealtime(options_.realtimePriority, *logger_);  // last: ahead of the policy the slice set
      endpoint_->serveThreaded();
    }
    port_ = static_cast<uint16_t>(endpoint_->getPort());
    running_ = true;
  } catch (const std::exception& e) {
    endpoint_.reset();
    return unavailableError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                            ": " + e.what());
  }
  return Status::ok();
}

void HttpServer::stop() {
  if (running_.exchange(false) && endpoint_) {
    endpoint_->shutdown();
  }
}

}  // namespace mx::host::http
