// StreamingCall — one streaming API call with retries, shared by the model
// providers.
//
// A subclass supplies the protocol (how a stream's events accumulate, how an
// error body reads); this class runs the attempts through the host's
// HttpClient: it retries transport failures, retryable HTTP statuses (with
// the server's retry-after) and stream failures, but only while nothing has
// reached the observer; it completes exactly once, with a message that says
// how much was streamed when a stream fails midway; cancellation during a
// backoff completes at once.
// Thread-safety: an attempt's callbacks, the retry that follows and the next
// attempt run one after another on the attempt's I/O thread (the host's client
// keeps what an I/O thread starts on it); begin() runs on any thread, and a
// cancel's task on another I/O thread: it and the retry's timer take the
// wait for a retry from each other (waitingForRetry_), and complete() runs once.
// Blocking: never.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mx/http.hpp"
#include "mx/log.hpp"
#include "mx_common/retry.hpp"

namespace mx::common {

class StreamingCall : public HttpStreamHandler, public std::enable_shared_from_this<StreamingCall> {
 public:
  StreamingCall(std::shared_ptr<HttpClient> http, Logger& logger, std::string label, RetryPolicy policy,
                HttpRequest request, CancellationToken cancel);

  // Before begin(): a way to write the request again for a retry. The call then
  // keeps it instead of the request, which only the transfer holds (until its
  // response starts): a body is a whole conversation, held otherwise for as
  // long as the model has not answered. A builder that throws ends the call
  // with an Internal error.
  void rebuildRequestWith(std::function<HttpRequest()> rebuild) { rebuild_ = std::move(rebuild); }
  // Starts the first attempt.
  void begin();

  void onResponseStart(int status, const HttpHeaders& headers) final;
  void onBodyData(std::string_view chunk) final;
  void onEvent(const SseEvent& event) final;
  void onComplete(const Status& transport) final;

 protected:
  // Protocol hooks.
  virtual void startAttempt() = 0;                           // fresh per-attempt state
  virtual void onStreamEvent(const SseEvent& event) = 0;
  virtual bool streamFinished() const = 0;                   // the protocol's end marker was seen
  virtual Status streamFailure() const = 0;                  // an error reported inside the stream
  virtual bool deliveredAnything() const = 0;                // something reached the observer
  virtual int64_t streamedChars() const = 0;
  virtual std::string endMarker() const = 0;                 // "message_stop", "[DONE]"
  virtual Status errorFromResponse(int status, const HttpHeaders& headers, const std::string& body) const = 0;
  virtual bool shouldRetryResponse(int status, const HttpHeaders& headers, const std::string& body) const;
  virtual void rememberFailedAttempt() = 0;                  // e.g. add its usage to the total
  virtual void deliver(const Status& status) = 0;            // exactly once

 private:
  void attempt();
  void finishStream(const Status& transport);
  bool canRetry() const;
  void retry(const Status& why, std::optional<std::chrono::milliseconds> serverDelay);
  void complete(const Status& status);

  std::shared_ptr<HttpClient> http_;
  Logger& logger_;
  std::string label_;
  RetryPolicy policy_;
  // Shared with the transfer (one body for both); kept for retries until
  // something was delivered, then only the transfer holds it. With rebuild_,
  // only until the attempt has started (rebuild_ is kept instead).
  std::shared_ptr<const HttpRequest> request_;
  std::function<HttpRequest()> rebuild_;
  CancellationToken cancel_;
  Subscription cancelSubscription_;
  int status_ = 0;
  HttpHeaders headers_;
  std::string errorBody_;
  int retriesDone_ = 0;
  std::atomic<bool> waitingForRetry_{false};
  std::atomic<bool> completed_{false};
};

}  // namespace mx::common
