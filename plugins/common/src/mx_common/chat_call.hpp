// ChatCall — a StreamingCall for one chat-model request, shared by the model
// providers: the protocol's accumulator (made per attempt by the subclass's
// startAttempt) turns stream events into observer calls and a ChatResponse;
// the usage of failed attempts is added to the final response, which reaches
// the observer exactly once.
// Accumulator needs: onEvent, finished, failure, emittedDeltas, response,
// takeResponse.
// Thread-safety and blocking: as StreamingCall.
#pragma once

#include <memory>
#include <string>

#include "mx/model.hpp"
#include "mx_common/streaming_call.hpp"

namespace mx::common {

template <class Accumulator>
class ChatCall : public StreamingCall {
 public:
  ChatCall(std::shared_ptr<HttpClient> http, Logger& logger, std::string label, RetryPolicy policy, HttpRequest request,
           std::shared_ptr<ChatObserver> observer, CancellationToken cancel)
      : StreamingCall(std::move(http), logger, std::move(label), std::move(policy), std::move(request), std::move(cancel)),
        observer_(std::move(observer)) {}

 protected:
  void onStreamEvent(const SseEvent& event) override { accumulator_->onEvent(event); }
  bool streamFinished() const override { return accumulator_->finished(); }
  Status streamFailure() const override { return accumulator_->failure(); }
  bool deliveredAnything() const override { return accumulator_->emittedDeltas(); }
  int64_t streamedChars() const override { return accumulator_->response().streamedChars; }
  void rememberFailedAttempt() override { usageOfFailedAttempts_ += accumulator_->response().usage; }
  void deliver(const Status& status) override {
    ChatResponse response = accumulator_->takeResponse();
    response.usage += usageOfFailedAttempts_;
    auto observer = std::move(observer_);
    observer->onComplete(status, std::move(response));
  }

  std::shared_ptr<ChatObserver> observer_;
  std::unique_ptr<Accumulator> accumulator_;

 private:
  Usage usageOfFailedAttempts_;
};

}  // namespace mx::common
