#include "mx_common/streaming_call.hpp"

#include <random>

namespace mx::common {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

double unitRandom() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace

StreamingCall::StreamingCall(std::shared_ptr<HttpClient> http, Logger& logger, std::string label, RetryPolicy policy,
                             HttpRequest request, CancellationToken cancel)
    : http_(std::move(http)), logger_(logger), label_(std::move(label)), policy_(policy),
      request_(std::make_shared<const HttpRequest>(std::move(request))), cancel_(std::move(cancel)) {}

void StreamingCall::begin() {
  auto self = shared_from_this();
  // Cancellation while waiting for a retry must not wait for the timer. The
  // canceller's thread only posts: the task may run on another I/O thread than
  // the attempts, and ends the wait only if the timer has not taken it.
  cancelSubscription_ = cancel_.onCancel([self] {
    self->http_->runAfter(std::chrono::milliseconds(0), [self] {
      if (self->waitingForRetry_.exchange(false)) self->complete(cancelledError("cancelled while waiting to retry"));
    });
  });
  attempt();
}

bool StreamingCall::shouldRetryResponse(int status, const HttpHeaders& headers, const std::string&) const {
  return shouldRetryStatus(status, headers);
}

void StreamingCall::onResponseStart(int status, const HttpHeaders& headers) {
  status_ = status;
  headers_ = headers;
}

void StreamingCall::onBodyData(std::string_view chunk) {
  if (errorBody_.size() < kMaxErrorBody) errorBody_.append(chunk.substr(0, kMaxErrorBody - errorBody_.size()));
}

void StreamingCall::onEvent(const SseEvent& event) {
  if (completed_) return;
  onStreamEvent(event);
  // Once words reached the observer the call is never retried: the request
  // (a whole conversation, for as long as the answer streams) can go.
  if ((request_ != nullptr || rebuild_) && deliveredAnything()) {
    request_.reset();
    rebuild_ = nullptr;
  }
}

void StreamingCall::onComplete(const Status& transport) {
  if (completed_) return;
  if (transport.code() == Code::Cancelled) {
    complete(cancelledError("cancelled after " + std::to_string(streamedChars()) + " characters were streamed"));
  } else if (transport.isOk() && status_ == 200) {
    finishStream(Status::ok());
  } else if (transport.isOk()) {
    Status error = errorFromResponse(status_, headers_, errorBody_);
    if (shouldRetryResponse(status_, headers_, errorBody_) && canRetry()) {
      retry(error, retryAfter(headers_, policy_));
    } else {
      complete(error);
    }
  } else if (status_ == 200) {
    finishStream(transport);
  } else if (isRetryable(transport.code()) && canRetry()) {
    retry(transport, std::nullopt);
  } else {
    complete(transport);
  }
}

void StreamingCall::attempt() {
  status_ = 0;
  headers_ = {};
  errorBody_.clear();
  if (request_ == nullptr && rebuild_) {
    try {
      request_ = std::make_shared<const HttpRequest>(rebuild_());
    } catch (const std::exception& e) {
      complete(internalError(label_ + ": building the request again for retry " + std::to_string(retriesDone_) + ": " + e.what()));
      return;
    } catch (...) {  // the builder is another plugin's code, run on the shared I/O thread
      complete(internalError(label_ + ": building the request again for retry " + std::to_string(retriesDone_) +
                             ": a non-standard exception"));
      return;
    }
  }
  startAttempt();
  // Let go of a rebuildable request before the transfer starts: its callbacks
  // may run on the I/O thread before startShared returns here.
  auto request = rebuild_ ? std::move(request_) : request_;
  http_->startShared(std::move(request), shared_from_this(), cancel_);
}

void StreamingCall::finishStream(const Status& transport) {
  if (streamFinished()) {
    complete(Status::ok());
    return;
  }
  Status failure = streamFailure();
  if (failure.isOk()) {
    failure = transport.isOk() ? unavailableError(label_ + " stream ended before " + endMarker()) : transport;
  }
  if (!deliveredAnything() && isRetryable(failure.code()) && canRetry()) {
    retry(failure, std::nullopt);
    return;
  }
  std::string streamed = deliveredAnything() ? " (after " + std::to_string(streamedChars()) +
                                                   " characters were streamed; not retried)"
                                             : "";
  complete(Status(failure.code(), failure.message() + streamed));
}

bool StreamingCall::canRetry() const {
  return (request_ != nullptr || rebuild_) && retriesDone_ < policy_.maxRetries && !cancel_.isCancelled();
}

void StreamingCall::retry(const Status& why, std::optional<std::chrono::milliseconds> serverDelay) {
  auto delay = serverDelay.value_or(backoffDelay(retriesDone_, policy_, unitRandom()));
  ++retriesDone_;
  rememberFailedAttempt();
  logger_.warn(label_ + " " + why.toString() + "; retry " + std::to_string(retriesDone_) + "/" +
               std::to_string(policy_.maxRetries) + " in " + std::to_string(delay.count()) + " ms");
  waitingForRetry_ = true;
  if (cancel_.isCancelled() && waitingForRetry_.exchange(false)) {  // its cancel's task may have looked already
    complete(cancelledError("cancelled while waiting to retry"));
    return;
  }
  auto self = shared_from_this();
  http_->runAfter(delay, [self] {
    if (!self->waitingForRetry_.exchange(false) || self->completed_) return;
    if (self->cancel_.isCancelled()) {
      self->complete(cancelledError("cancelled while waiting to retry"));
      return;
    }
    self->attempt();
  });
}

void StreamingCall::complete(const Status& status) {
  if (completed_.exchange(true)) return;
  waitingForRetry_ = false;
  deliver(status);
  cancelSubscription_.reset();
}

}  // namespace mx::common
