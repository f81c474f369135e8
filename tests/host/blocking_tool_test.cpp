// Tools that block run on the blocking pool: a graph worker that invokes one
// goes on with other runs' steps while the tool waits on its round trip.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "runtime/blocking_tool.hpp"
#include "runtime/guards.hpp"
#include "runtime/worker_pool.hpp"

using namespace mx;
using namespace mx::host;
using namespace std::chrono_literals;

namespace {

// Waits until released, as a query on a slow database does; says on which thread it ran.
class SlowTool final : public Tool {
 public:
  explicit SlowTool(bool blocks) : blocks_(blocks), released_(release_.get_future().share()) {}
  ToolDefinition definition() const override { return {"slow", "waits", Json::object()}; }
  bool blocking() const override { return blocks_; }
  void invoke(Json, std::shared_ptr<ToolContext>, ToolDone done) override {
    ranOn.set_value(std::this_thread::get_id());
    released_.wait();
    done(Json{{"answer", 42}});
  }
  void release() { release_.set_value(); }
  std::promise<std::thread::id> ranOn;

 private:
  bool blocks_;
  std::promise<void> release_;
  std::shared_future<void> released_;
};

class ThrowingTool final : public Tool {
 public:
  ToolDefinition definition() const override { return {"throws", "throws", Json::object()}; }
  bool blocking() const override { return true; }
  void invoke(Json, std::shared_ptr<ToolContext>, ToolDone) override { throw std::runtime_error("no connection"); }
};

}  // namespace

TEST(BlockingTool, AGraphWorkerGoesOnWhileTheToolWaits) {
  WorkerPool graphWorkers(1);
  WorkerPool blocking(2);
  auto slow = std::make_shared<SlowTool>(true);
  auto tool = runBlockingOn(slow, blocking);
  std::promise<Result<Json>> answered;
  std::promise<void> nextStepRan;
  graphWorkers.post([&] {
    tool->invoke(Json::object(), std::make_shared<ToolContext>(), [&](Result<Json> r) { answered.set_value(std::move(r)); });
    graphWorkers.post([&] { nextStepRan.set_value(); });  // another run's step, queued behind this one
  });
  auto toolThread = slow->ranOn.get_future().get();
  // The one graph worker is free while the tool still waits.
  ASSERT_EQ(nextStepRan.get_future().wait_for(5s), std::future_status::ready);
  auto answer = answered.get_future();
  EXPECT_EQ(answer.wait_for(0ms), std::future_status::timeout);
  slow->release();
  auto result = answer.get();
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ((*result)["answer"], 42);
  EXPECT_NE(toolThread, std::this_thread::get_id());
  graphWorkers.stop();
  blocking.stop();
}

TEST(BlockingTool, InvokedOnTheBlockingPoolItRunsThereAtOnce) {
  WorkerPool blocking(1);
  auto slow = std::make_shared<SlowTool>(true);
  auto tool = runBlockingOn(slow, blocking);
  std::promise<std::thread::id> caller;
  std::promise<void> answered;
  blocking.post([&] {
    caller.set_value(std::this_thread::get_id());
    slow->release();
    tool->invoke(Json::object(), std::make_shared<ToolContext>(), [&](Result<Json>) { answered.set_value(); });
  });
  EXPECT_EQ(slow->ranOn.get_future().get(), caller.get_future().get());  // a one-thread pool would deadlock otherwise
  answered.get_future().get();
  blocking.stop();
}

TEST(BlockingTool, AToolThatDoesNotBlockIsLeftAsItIs) {
  WorkerPool blocking(1);
  auto quick = std::make_shared<SlowTool>(false);
  EXPECT_EQ(runBlockingOn(quick, blocking), quick);
  blocking.stop();
}

TEST(BlockingTool, WhatTheToolThrowsOnThePoolComesBackAsAnError) {
  WorkerPool blocking(1);
  auto tool = runBlockingOn(guard(std::make_shared<ThrowingTool>(), "[tools.throws]"), blocking);
  std::promise<Result<Json>> answered;
  tool->invoke(Json::object(), std::make_shared<ToolContext>(), [&](Result<Json> r) { answered.set_value(std::move(r)); });
  auto result = answered.get_future().get();
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::Internal);
  EXPECT_NE(result.status().message().find("[tools.throws] threw: no connection"), std::string::npos) << result.status().message();
  blocking.stop();
}
