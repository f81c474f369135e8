// The SDK's value types: Status/Result, cancellation, the front-door check.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "mx/cancel.hpp"
#include "mx/plugin.hpp"
#include "mx/status.hpp"
#include "plugins/plugin_loader.hpp"

namespace mx {
namespace {

TEST(Status, CarriesCodeMessageAndRetryMeaning) {
  Status ok;
  EXPECT_TRUE(ok.isOk());
  Status limited = resourceExhaustedError("429 from anthropic");
  EXPECT_EQ(limited.code(), Code::ResourceExhausted);
  EXPECT_EQ(limited.toString(), "resource_exhausted: 429 from anthropic");
  EXPECT_TRUE(isRetryable(limited.code()));
  EXPECT_FALSE(isRetryable(Code::InvalidArgument));
  EXPECT_FALSE(isRetryable(Code::FailedPrecondition));
  EXPECT_EQ(limited.withContext("tier 1").message(), "tier 1: 429 from anthropic");
  EXPECT_EQ(limited.withContext("tier 1").code(), Code::ResourceExhausted);
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> value = 42;
  ASSERT_TRUE(value.isOk());
  EXPECT_EQ(*value, 42);
  Result<int> error = notFoundError("nope");
  EXPECT_FALSE(error.isOk());
  EXPECT_EQ(error.status().code(), Code::NotFound);
  EXPECT_EQ(error.valueOr(7), 7);
  Result<int> misuse = Status::ok();
  EXPECT_EQ(misuse.status().code(), Code::Internal);
}

TEST(Cancellation, CallbacksRunOnceOnCancel) {
  CancellationSource source;
  auto token = source.token();
  int calls = 0;
  auto subscription = token.onCancel([&] { ++calls; });
  EXPECT_FALSE(token.isCancelled());
  EXPECT_TRUE(source.cancel("client went away"));
  EXPECT_FALSE(source.cancel("again"));
  EXPECT_TRUE(token.isCancelled());
  EXPECT_EQ(token.reason(), "client went away");
  EXPECT_EQ(calls, 1);
}

TEST(Cancellation, SubscribingAfterCancelRunsImmediately) {
  CancellationSource source;
  source.cancel();
  bool ran = false;
  auto subscription = source.token().onCancel([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(Cancellation, DroppedSubscriptionNeverRuns) {
  CancellationSource source;
  bool ran = false;
  { auto subscription = source.token().onCancel([&] { ran = true; }); }
  source.cancel();
  EXPECT_FALSE(ran);
}

TEST(Cancellation, DefaultTokenIsNeverCancelled) {
  CancellationToken token;
  EXPECT_FALSE(token.isCancelled());
  auto subscription = token.onCancel([] { FAIL() << "must not run"; });
}

TEST(Cancellation, UnsubscribeWaitsForARunningCallback) {
  for (int round = 0; round < 200; ++round) {
    CancellationSource source;
    std::atomic<bool> inCallback{false};
    std::atomic<bool> finished{false};
    auto subscription = std::make_unique<Subscription>(source.token().onCancel([&] {
      inCallback = true;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      finished = true;
    }));
    std::thread canceller([&] { source.cancel(); });
    while (!inCallback && !source.isCancelled()) {
    }
    subscription.reset();
    // After reset returns, the callback is not running: either it finished or never started.
    EXPECT_TRUE(finished || !inCallback);
    canceller.join();
  }
}

TEST(FrontDoor, HostAcceptsItsOwnAbi) {
  mx_plugin_abi_block block = {sizeof(mx_plugin_abi_block), MX_PLUGIN_MAGIC, MX_ABI_MAJOR, MX_ABI_MINOR,
                               MX_TOOLCHAIN_TAG, "x", "1", ""};
  EXPECT_TRUE(host::checkAbiBlock(&block, "x.so").isOk());
  block.abi_minor = 0;
  EXPECT_TRUE(host::checkAbiBlock(&block, "x.so").isOk());
}

TEST(FrontDoor, RefusesEachIncompatibility) {
  mx_plugin_abi_block base = {sizeof(mx_plugin_abi_block), MX_PLUGIN_MAGIC, MX_ABI_MAJOR, MX_ABI_MINOR,
                              MX_TOOLCHAIN_TAG, "x", "1", ""};
  auto message = [](mx_plugin_abi_block b) { return host::checkAbiBlock(&b, "x.so").message(); };

  auto bad = base;
  bad.magic = 1;
  EXPECT_NE(message(bad).find("bad magic"), std::string::npos);
  bad = base;
  bad.size = 8;
  EXPECT_NE(message(bad).find("ABI block too small"), std::string::npos);
  bad = base;
  bad.abi_major = MX_ABI_MAJOR + 1;
  EXPECT_NE(message(bad).find("ABI major version mismatch"), std::string::npos);
  bad = base;
  bad.toolchain = "clang-17/libc++";
  EXPECT_NE(message(bad).find("plugin sdk-abi " + std::to_string(MX_ABI_MAJOR) + "." + std::to_string(MX_ABI_MINOR) + " (clang-17/libc++)"),
            std::string::npos);
  bad = base;
  bad.name = "";
  EXPECT_NE(message(bad).find("no plugin name"), std::string::npos);
  EXPECT_NE(host::checkAbiBlock(nullptr, "x.so").message().find("returned no ABI block"), std::string::npos);
}

}  // namespace
}  // namespace mx

namespace mx {
namespace {

TEST(Checkpoints, TheTextIsTheJsonOfTheCheckpoint) {
  Checkpoint c;
  c.threadId = "conv \"1\"";
  c.runId = "run_1";
  c.step = 3;
  c.status = "interrupted";
  c.state = {{"messages", Json::array({{{"role", "user"}, {"content", "hi\nthere"}}})}, {"count", 2}};
  c.next = {"tools", "model"};
  c.joins = {{"brief", {"research"}}};
  c.error = "";
  c.interruptedAt = "before:tools";
  c.createdAtMs = 1700000000000;
  EXPECT_EQ(checkpointText(c), toJson(c).dump());
  Checkpoint empty;
  EXPECT_EQ(checkpointText(empty), toJson(empty).dump());
  EXPECT_EQ(checkpointFromJson(Json::parse(checkpointText(c))).state, c.state);
  size_t stateAt = 0, stateLength = 0;
  std::string text = checkpointText(c, &stateAt, &stateLength);
  EXPECT_EQ(text, toJson(c).dump());
  EXPECT_EQ(text.substr(stateAt, stateLength), c.state.dump());
}

}  // namespace
}  // namespace mx
