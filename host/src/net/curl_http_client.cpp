#include "net/curl_http_client.hpp"

#include <curl/curl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>

#include "net/curl_socket_events.hpp"
#include "net/output_batch.hpp"
#include "net/sse_decoder.hpp"
#include "runtime/thread_name.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {

namespace {

using SteadyClock = std::chrono::steady_clock;
// A stalled transfer is found within an eighth of its idle timeout after it, at most every
// 20 ms and at least every second: the scan walks every live transfer, and at 2,000 streams
// with the models' 120 s every 20 ms was a per cent of the server's CPU for nothing.
constexpr auto kShortestIdleScanInterval = std::chrono::milliseconds(20);
constexpr auto kLongestIdleScanInterval = std::chrono::milliseconds(1000);

std::chrono::milliseconds idleScanIntervalFor(std::chrono::milliseconds idleTimeout) {
  return std::clamp(idleTimeout / 8, kShortestIdleScanInterval, kLongestIdleScanInterval);
}

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool isEventStream(std::string_view contentType) {
  return contentType.substr(0, 17) == "text/event-stream";
}

// libcurl reads the proxy variables (and no_proxy) from the environment for
// every transfer, ~30 getenv scans of the whole environment per turn. When
// none is set at start, the transfers say "no proxy" themselves, which is
// what libcurl would conclude; when one is, libcurl keeps reading them.
bool environmentNamesAProxy() {
  for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

// When the loop thread's current pass began: the time of the data libcurl
// hands over in that pass (a fast stream's answer is hundreds of writes, so
// one clock read a pass instead of one per write).
thread_local SteadyClock::time_point passStarted;

// The loop whose thread this is (null on other threads): what such a thread
// starts stays on it (see CurlHttpClient::loopOfCaller).
thread_local const void* runningLoop = nullptr;

// A loop's share of a limit over all loops: 0 (none) stays 0, and a share is at least one.
long shareOf(long limit, size_t loops) {
  if (limit <= 0) return limit;
  return std::max<long>(1, (limit + static_cast<long>(loops) - 1) / static_cast<long>(loops));
}

}  // namespace

struct Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headerList = nullptr;
  // curl reads the body in place while it sends the request; released once
  // the response starts (nothing is resent after that: no redirects are
  // followed), so a long stream does not keep a conversation-sized body.
  std::shared_ptr<const HttpRequest> request;
  std::string target;                        // "METHOD url", for errors
  std::chrono::milliseconds idleTimeout{0};
  bool decodeEventStream = false;
  std::shared_ptr<HttpStreamHandler> handler;
  Subscription cancelSubscription;
  SseDecoder decoder;
  HttpHeaders responseHeaders;
  bool responseStarted = false;
  bool eventStream = false;
  SteadyClock::time_point lastActivity;
  Status abortReason;          // set when we abort from a callback
  std::atomic<bool> cancelRequested{false};
  char errorBuffer[CURL_ERROR_SIZE] = {0};
  std::atomic<size_t>* countedIn = nullptr;  // its loop's load, from the moment the loop accepted it

  ~Transfer() {
    cancelSubscription.reset();  // first: no cancel callback may run past this point
    if (headerList != nullptr) curl_slist_free_all(headerList);
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (countedIn != nullptr) countedIn->fetch_sub(1, std::memory_order_relaxed);
  }
};

class CurlHttpClient::Loop : public std::enable_shared_from_this<CurlHttpClient::Loop> {
 public:
  Loop(std::shared_ptr<Logger> logger, Options options)
      : logger_(std::move(logger)), receiveBufferBytes_(options.receiveBufferBytes), proxyFromEnvironment_(environmentNamesAProxy()) {
    globalInit();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.maxConnections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.maxConnectionsPerHost);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.maxTotalConnections);
    events_ = std::make_unique<CurlSocketEvents>(multi_);
    wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) throw std::runtime_error(std::string("HTTP client: eventfd: ") + std::strerror(errno));
    events_->watch(wakeFd_);
  }

  // The thread keeps the loop alive: the last owner of the client may be a
  // handler running on this very thread.
  void startThread(size_t index) {
    thread_ = std::thread([self = shared_from_this(), index] {
      nameThisThread(nameOf("mx-client", index));
      self->run();
    });
  }

  ~Loop() {
    for (CURL* easy : idleEasy_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);  // before events_ goes: libcurl unregisters its sockets
    close(wakeFd_);
  }

  // Only a loop asleep in epoll needs the eventfd: an awake one drains the
  // queues before it sleeps again (run() says it is going to sleep before it
  // looks at them one last time, so one of the two always sees the other).
  void wake() {
    if (!sleeping_.load()) return;
    uint64_t one = 1;
    [[maybe_unused]] auto written = write(wakeFd_, &one, sizeof one);
  }

  void start(std::shared_ptr<const HttpRequest> request, std::shared_ptr<HttpStreamHandler> handler,
             CancellationToken cancel) {
    auto transfer = std::make_unique<Transfer>();
    transfer->target = request->method + " " + request->url;
    transfer->idleTimeout = request->idleTimeout;
    transfer->decodeEventStream = request->decodeEventStream;
    transfer->request = std::move(request);
    transfer->handler = std::move(handler);
    Transfer* raw = transfer.get();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      raw->id = ++nextId_;
    }
    // Safe to capture `raw`: the subscription dies with the transfer, and its
    // destructor waits for a callback that is running.
    raw->cancelSubscription = cancel.onCancel([this, raw] {
      raw->cancelRequested.store(true);
      requestCancel(raw->id);
    });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_) {
        lock.unlock();
        failUnstarted(std::move(transfer), cancelledError("HTTP client is shutting down"));
        return;
      }
      raw->countedIn = &load_;
      load_.fetch_add(1, std::memory_order_relaxed);
      incoming_.push_back(std::move(transfer));
    }
    wake();
  }

  // A timer due after the loop's planned wake-up leaves it asleep: it is seen
  // when that sleep ends (most are tool timeouts of many seconds, several a
  // turn, and each eventfd wake-up was a system call and a pass of the loop).
  void runAfter(std::chrono::milliseconds delay, std::function<void()> task) {
    bool dueBeforeWakeUp = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      auto due = SteadyClock::now() + delay;
      dueBeforeWakeUp = due < plannedWakeUp_;
      timers_.push({due, ++timerSequence_, std::move(task)});
    }
    if (dueBeforeWakeUp) wake();
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake();
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // called from a handler: the loop ends when it returns
    } else {
      thread_.join();
    }
  }

  size_t active() const { return activeCount_.load(); }
  // Transfers accepted and not yet finished, those still queued for the loop included: counted
  // when start() returns, so requests started in a burst see each other.
  size_t load() const { return load_.load(std::memory_order_relaxed); }

 private:
  struct Timer {
    SteadyClock::time_point due;
    uint64_t sequence;
    std::function<void()> task;
    bool operator>(const Timer& other) const {
      return std::tie(due, sequence) > std::tie(other.due, other.sequence);
    }
  };

  void requestCancel(uint64_t id) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancels_.push_back(id);
    }
    wake();
  }

  // Only for transfers that never reached the loop.
  void failUnstarted(std::unique_ptr<Transfer> transfer, const Status& status) {
    auto handler = transfer->handler;
    transfer.reset();
    handler->onComplete(status);
  }

  static size_t onHeader(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    std::string_view line(data, size * count);
    transfer->lastActivity = passStarted;
    if (line.rfind("HTTP/", 0) == 0) {
      transfer->responseHeaders.entries.clear();  // a new response (after 100 or a redirect)
      return size * count;
    }
    std::string_view trimmed = trim(line);
    if (trimmed.empty()) {
      long status = 0;
      curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
      if (status >= 200 && !transfer->responseStarted) {
        transfer->responseStarted = true;
        transfer->request.reset();
        auto contentType = transfer->responseHeaders.find("content-type").value_or("");
        transfer->eventStream = transfer->decodeEventStream && status < 300 && isEventStream(contentType);
        transfer->handler->onResponseStart(static_cast<int>(status), transfer->responseHeaders);
      }
      return size * count;
    }
    auto colon = trimmed.find(':');
    if (colon != std::string_view::npos) {
      transfer->responseHeaders.entries.emplace_back(lowerCase(trimmed.substr(0, colon)),
                                                     std::string(trim(trimmed.substr(colon + 1))));
    }
    return size * count;
  }

  static size_t onBody(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    std::string_view chunk(data, size * count);
    transfer->lastActivity = passStarted;
    if (!transfer->abortReason.isOk()) {
      return 0;  // aborting: make curl fail the transfer
    }
    if (transfer->eventStream) {
      transfer->decoder.feed(chunk, [&](const SseEvent& event) { transfer->handler->onEvent(event); });
    } else {
      transfer->handler->onBodyData(chunk);
    }
    return size * count;
  }

  // A finished transfer's easy handle serves the next one: init and cleanup
  // allocate and free the handle's state and buffers every time (~1 % of the
  // server's CPU at six model calls per turn). Its options are kept, not reset:
  // addTransfer sets every option a transfer uses, each time (the reset freed
  // the buffers too; with setting the options again it was ~14,000
  // instructions a request). Every handle is kept until the next idle scan
  // (trimIdleEasy): under load, transfers end and begin in bursts, and a fixed
  // cap of 64 freed a burst's handles only to allocate them again (freeing
  // them alone was 0.9 % of the server's samples at 500 streams). A handle is
  // made only when none is idle, so kept and live handles together never
  // outnumber the most transfers that were live at once.
  void keepForReuse(CURL* easy) {
    if (easy == nullptr) return;
    idleEasy_.push_back(easy);
  }

  // Keeps as many idle handles as transfers are live (at least
  // kFewestIdleEasyHandles), so memory follows the load down within a scan.
  void trimIdleEasy() {
    size_t keep = std::max(kFewestIdleEasyHandles, active_.size());
    while (idleEasy_.size() > keep) {
      curl_easy_cleanup(idleEasy_.back());
      idleEasy_.pop_back();
    }
  }

  // The URL parsed once for every transfer to it (a model API's URL is the same
  // every call; libcurl parsed it again for each, ~6,000 instructions): libcurl
  // copies the handle when a transfer starts and never changes it. Null for a
  // URL libcurl cannot parse, or past kMostParsedUrls distinct ones.
  CURLU* parsedUrl(const std::string& url) {
    auto found = parsedUrls_.find(url);
    if (found != parsedUrls_.end()) return found->second.get();
    if (parsedUrls_.size() >= kMostParsedUrls) return nullptr;
    ParsedUrl parsed(curl_url());
    if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return nullptr;
    return parsedUrls_.emplace(url, std::move(parsed)).first->second.get();
  }

  CURL* takeEasy() {
    if (idleEasy_.empty()) return newEasy();
    CURL* easy = idleEasy_.back();
    idleEasy_.pop_back();
    return easy;
  }

  // A handle with the options every transfer shares (addTransfer sets the rest).
  CURL* newEasy() const {
    CURL* easy = curl_easy_init();
    if (easy == nullptr) return nullptr;
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Loop::onHeader);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Loop::onBody);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, receiveBufferBytes_);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    if (!proxyFromEnvironment_) {
      curl_easy_setopt(easy, CURLOPT_PROXY, "");
      curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
    }
    return easy;
  }

  void addTransfer(std::unique_ptr<Transfer> transfer) {
    CURL* easy = takeEasy();
    transfer->easy = easy;
    const HttpRequest& request = *transfer->request;
    for (const auto& [name, value] : request.headers) {
      transfer->headerList = curl_slist_append(transfer->headerList, (name + ": " + value).c_str());
    }
    transfer->headerList = curl_slist_append(transfer->headerList, "Expect:");
    // Every option is set on every transfer, to this one's value or to libcurl's
    // default: the handle may come from an earlier transfer with other ones (keepForReuse).
    CURLU* parsed = parsedUrl(request.url);
    curl_easy_setopt(easy, CURLOPT_CURLU, parsed);
    if (parsed == nullptr) curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());  // libcurl says what is wrong with it
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method != "GET" && request.method != "HEAD") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);  // no body, whatever the last transfer sent
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headerList);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->errorBuffer);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connectTimeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(0, request.totalTimeout.count())));  // 0: none
    // Advertises what libcurl can decode. Not for an event stream: APIs do not
    // compress one (each event must leave when it is written), and libcurl
    // formats the header a character at a time on every request.
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, request.decodeEventStream ? nullptr : "");
    transfer->lastActivity = SteadyClock::now();
    if (transfer->idleTimeout.count() > 0) {  // scanned for in time, whatever the others' timeouts
      nextIdleScan_ = std::min(nextIdleScan_, transfer->lastActivity + idleScanIntervalFor(transfer->idleTimeout));
    }
    curl_multi_add_handle(multi_, easy);
    uint64_t id = transfer->id;
    bool cancelledEarly = transfer->cancelRequested.load();
    active_.emplace(id, std::move(transfer));
    activeCount_ = active_.size();
    if (cancelledEarly) {  // its cancel may have been drained before it arrived
      Status cancelled = cancelledError("request cancelled");
      finish(id, &cancelled, CURLE_OK);
    }
  }

  Status statusFor(Transfer& transfer, CURLcode code) {
    if (code == CURLE_OK) {
      return Status::ok();
    }
    if (!transfer.abortReason.isOk()) {
      return transfer.abortReason;
    }
    std::string detail = transfer.errorBuffer[0] != '\0' ? transfer.errorBuffer : curl_easy_strerror(code);
    long osErrno = 0;  // libcurl 7.88 does not say why a connect failed: refused, no local port, unreachable
    if (curl_easy_getinfo(transfer.easy, CURLINFO_OS_ERRNO, &osErrno) == CURLE_OK && osErrno != 0) {
      detail += " (" + std::string(std::strerror(static_cast<int>(osErrno))) + ")";
    }
    std::string message = transfer.target + ": " + detail;
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return deadlineExceededError(message);
    }
    return unavailableError(message);
  }

  void finish(uint64_t id, const Status* forced, CURLcode code) {
    auto it = active_.find(id);
    if (it == active_.end()) return;
    std::unique_ptr<Transfer> transfer = std::move(it->second);
    active_.erase(it);
    activeCount_ = active_.size();
    curl_multi_remove_handle(multi_, transfer->easy);
    Status status = forced != nullptr ? *forced : statusFor(*transfer, code);
    if (!transfer->responseStarted && status.isOk()) {
      long httpStatus = 0;
      curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &httpStatus);
      transfer->responseStarted = true;
      transfer->handler->onResponseStart(static_cast<int>(httpStatus), transfer->responseHeaders);
    }
    auto handler = std::move(transfer->handler);
    if (code == CURLE_OK && forced == nullptr) {
      keepForReuse(transfer->easy);
      transfer->easy = nullptr;
    }  // else ~Transfer frees it: a failed transfer's handle keeps what failed (its OS errno), not for the next one
    transfer.reset();  // drops the cancel subscription before the handler hears of the end
    handler->onComplete(status);
  }

  void drainQueues() {
    std::vector<std::unique_ptr<Transfer>> incoming;
    std::vector<uint64_t> cancels;
    std::vector<std::function<void()>> dueTimers;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      incoming.swap(incoming_);
      cancels.swap(cancels_);
      auto now = SteadyClock::now();
      while (!timers_.empty() && timers_.top().due <= now) {
        dueTimers.push_back(std::move(const_cast<Timer&>(timers_.top()).task));
        timers_.pop();
      }
    }
    for (auto& transfer : incoming) {
      addTransfer(std::move(transfer));
    }
    for (uint64_t id : cancels) {
      Status cancelled = cancelledError("request cancelled");
      finish(id, &cancelled, CURLE_OK);
    }
    for (auto& task : dueTimers) {
      task();
    }
  }

  void scanIdle() {
    auto now = SteadyClock::now();
    if (now < nextIdleScan_) return;
    trimIdleEasy();
    std::vector<uint64_t> stalled;
    auto every = kLongestIdleScanInterval;
    for (auto& [id, transfer] : active_) {
      auto idle = transfer->idleTimeout;
      if (idle.count() <= 0) continue;
      if (now - transfer->lastActivity > idle) {
        stalled.push_back(id);
      } else {
        every = std::min(every, idleScanIntervalFor(idle));
      }
    }
    nextIdleScan_ = now + every;
    for (uint64_t id : stalled) {
      auto& transfer = *active_[id];
      Status timeout = deadlineExceededError(transfer.target + ": no data for " + std::to_string(transfer.idleTimeout.count()) +
                                             " ms (idle timeout)");
      finish(id, &timeout, CURLE_OK);
    }
  }

  // How long the loop may sleep, planned under the lock runAfter takes: a timer
  // added after this sees the planned wake-up, one added before is in the plan.
  // (libcurl's own timeout may end the sleep sooner; the plan is then merely late.)
  int pollTimeoutMs() {
    auto now = SteadyClock::now();
    long timeout = kLongestIdleScanInterval.count();
    if (!active_.empty()) {
      timeout = std::clamp<long>(std::chrono::ceil<std::chrono::milliseconds>(nextIdleScan_ - now).count(), 0, timeout);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (!incoming_.empty() || !cancels_.empty() || stopping_) {  // queued while not asleep: no wake came
      plannedWakeUp_ = now;
      return 0;
    }
    if (!timers_.empty()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(timers_.top().due - now).count();
      timeout = std::max<long>(0, std::min<long>(timeout, until));
    }
    plannedWakeUp_ = now + std::chrono::milliseconds(timeout);
    return static_cast<int>(timeout);
  }

  void readCompletions() {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg == CURLMSG_DONE) {
        Transfer* transfer = nullptr;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
        finish(transfer->id, nullptr, message->data.result);
      }
    }
  }

  // Lets libcurl act on what is ready (and on its due timeout), then completes
  // finished transfers. What their callbacks send to clients in this pass
  // leaves in one write per client.
  void actAndComplete() {
    passStarted = SteadyClock::now();
    OutputBatch burst;
    events_->act([this](int) {
      uint64_t count = 0;
      [[maybe_unused]] auto read = ::read(wakeFd_, &count, sizeof count);
    });
    readCompletions();
  }

  void run() {
    runningLoop = this;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) break;
      }
      {
        // What a pass completes (a model's answer) may be run here rather than wake a sleeping
        // worker; a transfer it starts is queued without a wake-up and started below or next pass.
        WorkerPool::HelpWhenIdle help;
        drainQueues();
        actAndComplete();  // starts what drainQueues added without a trip through epoll
      }
      sleeping_.store(true);  // before pollTimeoutMs looks at the queues: see wake()
      events_->wait(pollTimeoutMs());
      sleeping_.store(false);
      WorkerPool::HelpWhenIdle help;
      actAndComplete();
      scanIdle();
    }
    stopAll();
  }

  void stopAll() {
    std::vector<std::unique_ptr<Transfer>> incoming;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      incoming.swap(incoming_);
      while (!timers_.empty()) timers_.pop();
    }
    Status shuttingDown = cancelledError("HTTP client is shutting down");
    std::vector<uint64_t> ids;
    for (auto& [id, transfer] : active_) ids.push_back(id);
    for (uint64_t id : ids) finish(id, &shuttingDown, CURLE_OK);
    for (auto& transfer : incoming) failUnstarted(std::move(transfer), shuttingDown);
  }

  std::shared_ptr<Logger> logger_;
  std::atomic<size_t> load_{0};  // before the transfers below, which count themselves out of it
  long receiveBufferBytes_;
  bool proxyFromEnvironment_;  // read once, at start
  static constexpr size_t kFewestIdleEasyHandles = 64;
  std::vector<CURL*> idleEasy_;  // loop thread only
  CURLM* multi_ = nullptr;
  std::thread thread_;
  mutable std::mutex mutex_;
  bool stopping_ = false;
  uint64_t nextId_ = 0;
  uint64_t timerSequence_ = 0;
  std::vector<std::unique_ptr<Transfer>> incoming_;
  std::vector<uint64_t> cancels_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  SteadyClock::time_point plannedWakeUp_{SteadyClock::time_point::min()};  // the loop's last planned sleep ends then
  struct FreeUrl {
    void operator()(CURLU* url) const { curl_url_cleanup(url); }
  };
  using ParsedUrl = std::unique_ptr<CURLU, FreeUrl>;
  static constexpr size_t kMostParsedUrls = 64;
  std::unordered_map<std::string, ParsedUrl> parsedUrls_;  // I/O thread only; outlives the transfers below
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> active_;  // I/O thread only
  std::atomic<size_t> activeCount_{0};
  SteadyClock::time_point nextIdleScan_{};
  std::unique_ptr<CurlSocketEvents> events_;  // I/O thread only
  int wakeFd_ = -1;
  std::atomic<bool> sleeping_{false};  // in (or about to enter) epoll_wait
};

CurlHttpClient::CurlHttpClient(std::shared_ptr<Logger> logger, Options options) : receiveBufferBytes_(options.receiveBufferBytes) {
  size_t count = std::max<size_t>(1, options.ioThreads);
  Options each = options;
  each.maxConnections = shareOf(options.maxConnections, count);
  each.maxConnectionsPerHost = shareOf(options.maxConnectionsPerHost, count);
  each.maxTotalConnections = shareOf(options.maxTotalConnections, count);
  for (size_t i = 0; i < count; ++i) loops_.push_back(std::make_shared<Loop>(logger, each));
  for (size_t i = 0; i < loops_.size(); ++i) loops_[i]->startThread(i);
}

CurlHttpClient::~CurlHttpClient() { shutdown(); }

CurlHttpClient::Loop* CurlHttpClient::loopOfCaller() const {
  if (runningLoop == nullptr) return nullptr;
  for (const auto& loop : loops_) {
    if (loop.get() == runningLoop) return loop.get();
  }
  return nullptr;  // another client's thread
}

// The least loaded thread, so that chains of calls that stay on one thread (and its share of the
// connection limit) do not leave it with more than its part; among equals, each in turn.
CurlHttpClient::Loop& CurlHttpClient::loopForRequest() {
  if (loops_.size() == 1) return *loops_.front();
  if (Loop* own = loopOfCaller()) return *own;
  size_t first = turn_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
  Loop* least = loops_[first].get();
  size_t leastLoad = least->load();
  for (size_t i = 1; i < loops_.size() && leastLoad > 0; ++i) {
    Loop* candidate = loops_[(first + i) % loops_.size()].get();
    size_t load = candidate->load();
    if (load < leastLoad) {
      least = candidate;
      leastLoad = load;
    }
  }
  return *least;
}

void CurlHttpClient::start(HttpRequest request, std::shared_ptr<HttpStreamHandler> handler, CancellationToken cancel) {
  loopForRequest().start(std::make_shared<const HttpRequest>(std::move(request)), std::move(handler), std::move(cancel));
}

void CurlHttpClient::startShared(std::shared_ptr<const HttpRequest> request, std::shared_ptr<HttpStreamHandler> handler,
                                 CancellationToken cancel) {
  loopForRequest().start(std::move(request), std::move(handler), std::move(cancel));
}

void CurlHttpClient::runAfter(std::chrono::milliseconds delay, std::function<void()> task) {
  Loop* own = loopOfCaller();
  (own != nullptr ? *own : *loops_.front()).runAfter(delay, std::move(task));
}

void CurlHttpClient::shutdown() {
  for (auto& loop : loops_) loop->shutdown();
}

size_t CurlHttpClient::activeTransfers() const {
  size_t total = 0;
  for (const auto& loop : loops_) total += loop->active();
  return total;
}

}  // namespace mx::host
