// Checks every provider that implements mx::RebuildingChat passes, against its
// mock server. Header-only, for the providers' test binaries.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>

#include "api_mock.hpp"
#include "mx/model.hpp"

namespace mx::test {

// `server` fails the first attempt in a way worth a retry, then answers. The
// call builds the request once for each attempt and sends the same body
// again; returns that body, for the provider's own checks.
template <class Waiter>
std::string expectARetryToSendTheSameBodyBuiltAgain(RebuildingChat& provider, const MockHttpServer& server,
                                                    const ChatRequest& request) {
  using namespace std::chrono_literals;
  std::atomic<int> built{0};
  auto waiter = std::make_shared<Waiter>();
  auto future = waiter->promise.get_future();
  provider.chatRebuilding([&] { ++built; return request; }, waiter, {});
  if (future.wait_for(15s) != std::future_status::ready) {
    ADD_FAILURE() << "the call did not end";
    return "";
  }
  auto result = future.get();
  EXPECT_TRUE(result.status.isOk()) << result.status.toString();
  EXPECT_FALSE(result.text.empty());
  EXPECT_EQ(built.load(), 2) << "once for the first attempt, once for the retry";
  if (server.requestCount() != 2u) {
    ADD_FAILURE() << server.requestCount() << " requests, not 2";
    return "";
  }
  EXPECT_EQ(server.requests().at(1).body, server.requests().at(0).body) << "a retry sends the same request";
  return server.requests().at(1).body;
}

// `server` answers the first call, then fails the second in a way worth a
// retry. A call that needs no retry builds its request once; when the builder
// throws for the retry, the call ends with an Internal error that says so,
// prefixed with the provider's `label`. `Waiter`: an observer with a
// `promise` of a result that has a `status`.
template <class Waiter>
void expectOneBuildWithoutARetryAndAThrowOnRetryEndsTheCall(RebuildingChat& provider, const MockHttpServer& server,
                                                           const ChatRequest& request, const std::string& label) {
  using namespace std::chrono_literals;
  std::atomic<int> built{0};
  auto builder = [&]() -> ChatRequest {
    if (++built > 2) throw std::runtime_error("the run is gone");  // the third build: the second call's retry
    return request;
  };
  auto first = std::make_shared<Waiter>();
  auto done = first->promise.get_future();
  provider.chatRebuilding(builder, first, {});
  ASSERT_EQ(done.wait_for(15s), std::future_status::ready);
  EXPECT_TRUE(done.get().status.isOk());
  EXPECT_EQ(built.load(), 1) << "no retry, no second build";

  auto second = std::make_shared<Waiter>();  // the error, then the builder throws for the retry
  auto failed = second->promise.get_future();
  provider.chatRebuilding(builder, second, {});
  ASSERT_EQ(failed.wait_for(15s), std::future_status::ready);
  auto result = failed.get();
  EXPECT_EQ(result.status.code(), Code::Internal);
  EXPECT_EQ(result.status.message(), label + ": building the request again for retry 1: the run is gone");
  EXPECT_EQ(server.requestCount(), 2u);
}

}  // namespace mx::test
