// Graph semantics with fake nodes: reducers, routing, fan-out/fan-in, the
// recursion limit, interrupts and resume, cancellation, failures, checkpoints.
#include <gtest/gtest.h>

#include "graph/checkpointers.hpp"
#include "graph/predicate.hpp"
#include "graph/reducers.hpp"
#include "graph_support.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {
namespace {

using mx::test::loadGraphDeployment;
using mx::test::request;
using mx::test::runGraph;
using mx::test::TempDir;

TEST(Reducers, ReplaceAppendMergeAndMergeByKey) {
  Json value = 1;
  ASSERT_TRUE(applyReducer(Reducer::Replace, "", value, "x").isOk());
  EXPECT_EQ(value, "x");
  Json list = Json::array({1});
  ASSERT_TRUE(applyReducer(Reducer::Append, "", list, Json::array({2, 3})).isOk());
  ASSERT_TRUE(applyReducer(Reducer::Append, "", list, 4).isOk());
  EXPECT_EQ(list, Json::array({1, 2, 3, 4}));
  Json object = {{"a", 1}, {"nested", {{"x", 1}}}};
  ASSERT_TRUE(applyReducer(Reducer::Merge, "", object, {{"b", 2}, {"nested", {{"y", 2}}}, {"a", nullptr}}).isOk());
  EXPECT_EQ(object, Json({{"b", 2}, {"nested", {{"x", 1}, {"y", 2}}}}));
  EXPECT_FALSE(applyReducer(Reducer::Merge, "", object, 5).isOk());
  Json artifacts = Json::array({{{"id", "a1"}, {"v", 1}}});
  ASSERT_TRUE(applyReducer(Reducer::MergeByKey, "id", artifacts, Json::array({{{"id", "a1"}, {"v", 2}}, {{"id", "a2"}}})).isOk());
  EXPECT_EQ(artifacts, Json::array({{{"id", "a1"}, {"v", 2}}, {{"id", "a2"}}}));
  EXPECT_FALSE(applyReducer(Reducer::MergeByKey, "id", artifacts, Json{{"no_id", 1}}).isOk());
}

// A step's results are moved into the state; an update the caller keeps
// (a run's input) is copied and left as it was. Both give the same state.
TEST(Reducers, AnUpdateMovedInGivesTheStateACopyGives) {
  struct Case {
    Reducer reducer;
    Json start;
    Json update;
  };
  std::vector<Case> cases = {
      {Reducer::Replace, 1, {{"text", std::string(100, 'r')}}},
      {Reducer::Append, Json::array({{{"role", "user"}}}), Json::array({{{"role", "assistant"}, {"content", std::string(100, 'a')}}, 7})},
      {Reducer::Append, "one", {{"role", "tool"}}},
      {Reducer::Merge, {{"a", 1}, {"nested", {{"x", 1}}}}, {{"b", std::string(50, 'b')}, {"nested", {{"y", 2}, {"x", nullptr}}}, {"a", nullptr}}},
      {Reducer::MergeByKey, Json::array({{{"id", "a1"}, {"v", 1}}}), Json::array({{{"id", "a1"}, {"v", 2}}, {{"id", "a2"}}, {{"id", "a2"}, {"v", 3}}})},
      {Reducer::MergeByKey, Json(), {{"id", "solo"}}},
  };
  for (const auto& c : cases) {
    Json copied = c.start;
    const Json kept = c.update;
    ASSERT_TRUE(applyReducer(c.reducer, "id", copied, kept).isOk());
    EXPECT_EQ(kept, c.update) << "a const update is not moved from";
    Json moved = c.start;
    Json update = c.update;
    ASSERT_TRUE(applyReducer(c.reducer, "id", moved, std::move(update)).isOk());
    EXPECT_EQ(moved, copied) << c.update.dump();
  }
  Json object = Json::object();
  EXPECT_FALSE(applyReducer(Reducer::Merge, "", object, Json::array()).isOk());
}

TEST(Predicates, ParseAndEvaluate) {
  Json state = {{"messages", Json::array({{{"role", "assistant"}, {"content", {{{"type", "tool_use"}, {"id", "t"}}}}}})},
                {"intent", {{"contentType", "email"}, {"count", 0}}},
                {"flags", Json::array({true, false})}};
  auto check = [&](const std::string& text) {
    auto p = Predicate::parse(text);
    EXPECT_TRUE(p.isOk()) << text << ": " << p.status().toString();
    return p.isOk() && p->evaluate(state);
  };
  EXPECT_TRUE(check("has_tool_calls(messages)"));
  EXPECT_FALSE(check("not has_tool_calls(messages)"));
  EXPECT_TRUE(check("intent.contentType == \"email\""));
  EXPECT_TRUE(check("intent.contentType != \"ad\""));
  EXPECT_FALSE(check("intent.count"));
  EXPECT_TRUE(check("intent.count exists"));
  EXPECT_TRUE(check("flags[0]"));
  EXPECT_FALSE(check("flags[-1]"));
  EXPECT_FALSE(check("missing.path"));
  EXPECT_TRUE(check("missing == null"));
  EXPECT_FALSE(Predicate::parse("intent.x == not-json").isOk());
  EXPECT_FALSE(Predicate::parse("").isOk());
  EXPECT_FALSE(Predicate::parse("a..b").isOk());
}

const std::string kChannels = R"(
[channels.log]
reducer = "append"
default = []
[channels.route]
[channels.count]
default = 0
[channels.approved]
)";

TEST(GraphRuntime, RunsALinearGraphAndCheckpointsEveryStep) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"a\"\n" + kChannels + R"(
[nodes.a]
kind = "test.write"
update = { log = ["a"] }
event = "thinking"
[nodes.b]
kind = "test.write"
update = { log = ["b"] }
[[edges]]
from = "a"
to = "b"
[[edges]]
from = "b"
to = "__end__"
)");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  testing::RecordingEventSink sink;
  auto outcome = runGraph(*g.deployment, request("t1", "r1", &sink));
  EXPECT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
  EXPECT_EQ(outcome.state["log"], Json::array({"a", "b"}));
  EXPECT_EQ(outcome.steps, 2);
  ASSERT_EQ(outcome.timings.size(), 2u);
  EXPECT_EQ(outcome.timings[0].node, "a");
  ASSERT_EQ(sink.events().size(), 1u);
  EXPECT_EQ(sink.events()[0].event, "thinking");
  auto history = g.deployment->checkpointer()->history("t1");
  ASSERT_TRUE(history.isOk());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].status, "running");
  EXPECT_EQ((*history)[0].next, std::vector<std::string>{"b"});
  EXPECT_EQ((*history)[1].status, "completed");
}

const std::string kThreeSteps = "[graph]\nentry = \"a\"\n" + kChannels + R"(
[nodes.a]
kind = "test.write"
update = { log = ["a"] }
[nodes.b]
kind = "test.write"
update = { log = ["b"] }
[nodes.c]
kind = "test.write"
update = { log = ["c"] }
[[edges]]
from = "a"
to = "b"
[[edges]]
from = "b"
to = "c"
[[edges]]
from = "c"
to = "__end__"
)";

std::vector<std::string> statuses(Deployment& deployment, const std::string& thread) {
  std::vector<std::string> out;
  auto history = deployment.checkpointer()->history(thread);
  if (history) {
    for (const auto& checkpoint : *history) out.push_back(checkpoint.status + "@" + std::to_string(checkpoint.step));
  }
  return out;
}

TEST(GraphRuntime, DurabilityExitSavesOnlyTheFinalCheckpoint) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, kThreeSteps, "durability = \"exit\"\n");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  EXPECT_EQ(g.deployment->runtime().durability(), Durability::Exit);
  auto outcome = runGraph(*g.deployment, request("t", "r", nullptr));
  EXPECT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
  EXPECT_EQ(outcome.state["log"], Json::array({"a", "b", "c"}));
  EXPECT_EQ(statuses(*g.deployment, "t"), std::vector<std::string>{"completed@3"});
  auto writes = g.deployment->checkpointer()->pendingWrites("t", "r", 0);
  ASSERT_TRUE(writes.isOk());
  EXPECT_TRUE(writes->empty());
}

// Saves as the store plugins do: through the text the runtime wrote.
class TextSavingCheckpointer final : public Checkpointer, public CheckpointTextSaver {
 public:
  Status save(const Checkpoint& c) override {
    plainSaves.push_back(c.status);
    return memory.save(c);
  }
  Status saveText(const Checkpoint& c, const std::string& text) override {
    texts.push_back(text);
    return memory.save(c);
  }
  Status saveWrite(const PendingWrite& w) override { return memory.saveWrite(w); }
  Result<Checkpoint> latest(std::string_view t, std::string_view r) override { return memory.latest(t, r); }
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view t, std::string_view r, int64_t step) override {
    return memory.pendingWrites(t, r, step);
  }
  Result<std::vector<Checkpoint>> history(std::string_view t) override { return memory.history(t); }
  Status deleteThread(std::string_view t) override { return memory.deleteThread(t); }

  MemoryCheckpointer memory{50};
  std::vector<std::string> texts;
  std::vector<std::string> plainSaves;
};

TEST(GraphRuntime, TheLastCheckpointsTextGivesTheOutcomeTheStateAsText) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, kThreeSteps);
  ASSERT_TRUE(g.deployment) << g.errors[0];
  WorkerPool workers(2);
  for (auto durability : {Durability::Exit, Durability::Sync}) {
    auto checkpointer = std::make_shared<TextSavingCheckpointer>();
    GraphRuntime runtime(workers, checkpointer, std::make_shared<testing::RecordingLogger>(), durability);
    std::promise<RunOutcome> promise;
    runtime.start(g.deployment->graph("g"), request("t", "r", nullptr), [&](RunOutcome o) { promise.set_value(std::move(o)); });
    RunOutcome outcome = promise.get_future().get();
    ASSERT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
    EXPECT_EQ(outcome.state["log"], Json::array({"a", "b", "c"}));
    EXPECT_EQ(outcome.stateText, outcome.state.dump());
    ASSERT_EQ(checkpointer->texts.size(), 1u);  // only the last save keeps the text; the steps before save plainly
    auto latest = checkpointer->latest("t", "r");
    ASSERT_TRUE(latest.isOk());
    EXPECT_EQ(checkpointer->texts[0], checkpointText(*latest));
    EXPECT_EQ(checkpointer->plainSaves.size(), durability == Durability::Sync ? 2u : 0u);
  }
  // A checkpointer without the text saver (the built-in ones): no text, the state as ever.
  auto outcome = runGraph(*g.deployment, request("t2", "r", nullptr));
  EXPECT_EQ(outcome.status, RunStatus::Completed);
  EXPECT_TRUE(outcome.stateText.empty());
  EXPECT_EQ(outcome.state["log"], Json::array({"a", "b", "c"}));
}

// The chat saves a run's last checkpoint with the run's records: the runtime
// writes it and hands it over instead of saving it (not with async
// durability, where the writer keeps the run's saves in order).
TEST(GraphRuntime, AHandedOverLastCheckpointIsWrittenButNotSaved) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, kThreeSteps);
  ASSERT_TRUE(g.deployment) << g.errors[0];
  WorkerPool workers(2);
  for (auto durability : {Durability::Exit, Durability::Sync, Durability::Async}) {
    auto checkpointer = std::make_shared<TextSavingCheckpointer>();
    GraphRuntime runtime(workers, checkpointer, std::make_shared<testing::RecordingLogger>(), durability);
    std::promise<RunOutcome> promise;
    RunRequest handingOver = request("t", "r", nullptr);
    handingOver.handOverFinalCheckpoint = true;
    runtime.start(g.deployment->graph("g"), std::move(handingOver), [&](RunOutcome o) { promise.set_value(std::move(o)); });
    RunOutcome outcome = promise.get_future().get();
    ASSERT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
    EXPECT_EQ(outcome.state["log"], Json::array({"a", "b", "c"}));
    EXPECT_TRUE(checkpointer->texts.empty());
    auto history = checkpointer->history("t");
    if (durability == Durability::Async) {
      EXPECT_FALSE(outcome.finalCheckpoint.has_value());
      ASSERT_FALSE(history->empty());
      EXPECT_EQ(history->back().status, "completed");
      continue;
    }
    ASSERT_TRUE(outcome.finalCheckpoint.has_value());
    const FinalCheckpoint& last = *outcome.finalCheckpoint;
    EXPECT_EQ(history->size(), durability == Durability::Sync ? 2u : 0u);  // the steps before; not the last
    EXPECT_EQ(last.checkpoint.status, "completed");
    EXPECT_EQ(last.checkpoint.step, 3);
    EXPECT_TRUE(last.checkpoint.state.is_null());  // the outcome has it, and the text
    Checkpoint whole = last.checkpoint;
    whole.state = outcome.state;
    EXPECT_EQ(last.text, checkpointText(whole));
    EXPECT_EQ(outcome.stateTextView(), outcome.state.dump());
    EXPECT_TRUE(outcome.stateText.empty());
  }
}

TEST(GraphRuntime, DurabilityExitStillSavesAnInterruptAndResumes) {
  TempDir dir;
  auto graph = kThreeSteps;
  graph.replace(graph.find("[graph]\n"), 8, "[graph]\ninterrupt_after = [\"a\"]\n");
  auto g = loadGraphDeployment(dir, graph, "durability = \"exit\"\n");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  auto first = runGraph(*g.deployment, request("t", "r", nullptr));
  EXPECT_EQ(first.status, RunStatus::Interrupted);
  EXPECT_EQ(statuses(*g.deployment, "t"), std::vector<std::string>{"interrupted@1"});
  auto second = runGraph(*g.deployment, request("t", "r", nullptr, {{"approved", true}}), true);
  EXPECT_EQ(second.status, RunStatus::Completed) << second.error.toString();
  EXPECT_EQ(second.state["log"], Json::array({"a", "b", "c"}));
  EXPECT_EQ(statuses(*g.deployment, "t"), (std::vector<std::string>{"interrupted@1", "completed@3"}));
}

TEST(GraphRuntime, DurabilityAsyncSavesEveryStepInOrderBeforeTheRunIsDone) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, kThreeSteps, "durability = \"async\"\nretention = 100\n");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  for (int i = 0; i < 20; ++i) {  // runs at once: the writer keeps each run's order
    std::vector<std::future<RunOutcome>> runs;
    for (int k = 0; k < 5; ++k) {
      auto promise = std::make_shared<std::promise<RunOutcome>>();
      runs.push_back(promise->get_future());
      g.deployment->runtime().start(g.deployment->graph("g"), request("t" + std::to_string(k), "r" + std::to_string(i), nullptr),
                                    [promise](RunOutcome outcome) { promise->set_value(std::move(outcome)); });
    }
    for (int k = 0; k < 5; ++k) {
      auto outcome = runs[static_cast<size_t>(k)].get();
      ASSERT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
      // done only once the final checkpoint is saved
      auto latest = g.deployment->checkpointer()->latest("t" + std::to_string(k), "r" + std::to_string(i));
      ASSERT_TRUE(latest.isOk()) << latest.status().toString();
      EXPECT_EQ(latest->status, "completed");
      EXPECT_EQ(latest->state["log"], Json::array({"a", "b", "c"}));
    }
  }
  auto history = statuses(*g.deployment, "t0");
  ASSERT_EQ(history.size(), 60u);
  EXPECT_EQ(std::vector<std::string>(history.begin(), history.begin() + 3),
            (std::vector<std::string>{"running@1", "running@2", "completed@3"}));
}

TEST(GraphRuntime, UnknownDurabilityIsAConfigError) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, kThreeSteps, "durability = \"later\"\n");
  ASSERT_FALSE(g.deployment);
  ASSERT_FALSE(g.errors.empty());
  EXPECT_NE(g.errors[0].find("[checkpoints] durability must be \"sync\", \"async\" or \"exit\", got \"later\""),
            std::string::npos)
      << g.errors[0];
  EXPECT_NE(g.errors[0].find("deploy.toml:"), std::string::npos) << g.errors[0];
}

TEST(GraphRuntime, ConditionalEdgesAndRouters) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"start\"\n" + kChannels + R"(
[nodes.start]
kind = "test.write"
[nodes.left]
kind = "test.write"
update = { log = ["left"] }
[nodes.right]
kind = "test.write"
update = { log = ["right"] }
[nodes.pick]
kind = "test.write"
[[edges]]
from = "start"
to = "left"
when = "route == \"left\""
[[edges]]
from = "start"
to = "pick"
when = "not route == \"left\""
[[edges]]
from = "pick"
router = "test.by_field"
targets = ["right", "__end__"]
config = { field = "route" }
[[edges]]
from = "left"
to = "__end__"
[[edges]]
from = "right"
to = "__end__"
)");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  auto left = runGraph(*g.deployment, request("t", "left", nullptr, {{"route", "left"}}));
  EXPECT_EQ(left.state["log"], Json::array({"left"}));
  auto right = runGraph(*g.deployment, request("t", "right", nullptr, {{"route", "right"}}));
  EXPECT_EQ(right.state["log"], Json::array({"right"}));
  auto end = runGraph(*g.deployment, request("t", "end", nullptr, {{"route", "__end__"}}));
  EXPECT_EQ(end.status, RunStatus::Completed);
  EXPECT_EQ(end.state["log"], Json::array());
  auto bad = runGraph(*g.deployment, request("t", "bad", nullptr, {{"route", "start"}}));
  EXPECT_EQ(bad.status, RunStatus::Failed);
  EXPECT_NE(bad.error.message().find("router \"test.by_field\" returned \"start\", not one of its targets"), std::string::npos);
}

TEST(GraphRuntime, FanOutRunsBranchesInParallelAndJoinsOnce) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"a\"\n" + kChannels + R"(
[nodes.a]
kind = "test.write"
[nodes.slow]
kind = "test.write"
delay_ms = 150
update = { log = ["slow"] }
[nodes.fast]
kind = "test.write"
delay_ms = 150
update = { log = ["fast"] }
[nodes.fast2]
kind = "test.write"
update = { log = ["fast2"] }
[nodes.join]
kind = "test.write"
update = { log = ["join"] }
[[edges]]
from = "a"
to = "slow"
[[edges]]
from = "a"
to = "fast"
[[edges]]
from = "fast"
to = "fast2"
[[edges]]
from = ["slow", "fast2"]
to = "join"
[[edges]]
from = "join"
to = "__end__"
)");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  auto started = std::chrono::steady_clock::now();
  auto outcome = runGraph(*g.deployment, request("t", "r", nullptr));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
  EXPECT_LT(took, std::chrono::milliseconds(290));  // the two 150 ms branches overlapped
  Json log = outcome.state["log"];
  EXPECT_EQ(std::count(log.begin(), log.end(), Json("join")), 1);
  EXPECT_EQ(log.back(), "join");
  EXPECT_EQ(log.size(), 4u);
}

TEST(GraphRuntime, RecursionLimitEndsARunawayLoop) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"loop\"\nrecursion_limit = 5\n" + kChannels + R"(
[nodes.loop]
kind = "test.counter"
[[edges]]
from = "loop"
to = "loop"
when = "count != 1000"
[[edges]]
from = "loop"
to = "__end__"
when = "count == 1000"
)");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  auto outcome = runGraph(*g.deployment, request("t", "r", nullptr));
  EXPECT_EQ(outcome.status, RunStatus::Failed);
  EXPECT_EQ(outcome.error.message(), "recursion limit of 5 steps reached in graph \"g\" (next: loop)");
  EXPECT_EQ(outcome.state["count"], 5);
}

TEST(GraphRuntime, InterruptBeforeAndAfterThenResumeWithInput) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"brief\"\ninterrupt_after = [\"brief\"]\ninterrupt_before = [\"publish\"]\n" + kChannels + R"(
[nodes.brief]
kind = "test.write"
update = { log = ["brief"] }
[nodes.write]
kind = "test.write"
update = { log = ["write"] }
[nodes.publish]
kind = "test.write"
update = { log = ["publish"] }
[[edges]]
from = "brief"
to = "write"
[[edges]]
from = "write"
to = "publish"
[[edges]]
from = "publish"
to = "__end__"
)");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  auto first = runGraph(*g.deployment, request("t", "r", nullptr));
  EXPECT_EQ(first.status, RunStatus::Interrupted);
  EXPECT_EQ(first.interruptedAt, "after:brief");
  EXPECT_EQ(first.next, std::vector<std::string>{"write"});
  auto second = runGraph(*g.deployment, request("t", "r", nullptr, {{"approved", true}}), true);
  EXPECT_EQ(second.status, RunStatus::Interrupted);
  EXPECT_EQ(second.interruptedAt, "before:publish");
  EXPECT_EQ(second.state["approved"], true);
  auto third = runGraph(*g.deployment, request("t", "r", nullptr), true);
  EXPECT_EQ(third.status, RunStatus::Completed) << third.error.toString();
  EXPECT_EQ(third.state["log"], Json::array({"brief", "write", "publish"}));
  auto again = runGraph(*g.deployment, request("t", "r", nullptr), true);
  EXPECT_EQ(again.status, RunStatus::Failed);
  EXPECT_NE(again.error.message().find("already completed"), std::string::npos);
}

TEST(GraphRuntime, CancellationMidNodeStopsWithinMillisecondsAndSavesState) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"first\"\n" + kChannels + R"(
[nodes.first]
kind = "test.write"
update = { log = ["first"] }
[nodes.wait]
kind = "test.wait"
[nodes.never]
kind = "test.write"
update = { log = ["never"] }
[[edges]]
from = "first"
to = "wait"
[[edges]]
from = "wait"
to = "never"
[[edges]]
from = "never"
to = "__end__"
)");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  CancellationSource source;
  auto r = request("t", "r", nullptr);
  r.cancel = source.token();
  auto before = std::chrono::steady_clock::now();
  auto outcome = runGraph(*g.deployment, r, false, &source, std::chrono::milliseconds(100));
  auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(outcome.status, RunStatus::Cancelled);
  EXPECT_LT(took, std::chrono::milliseconds(150));
  EXPECT_EQ(outcome.state["log"], Json::array({"first"}));
  EXPECT_EQ(outcome.next, std::vector<std::string>{"wait"});
  auto saved = g.deployment->checkpointer()->latest("t", "r");
  ASSERT_TRUE(saved.isOk());
  EXPECT_EQ(saved->status, "cancelled");
  EXPECT_EQ(saved->state["log"], Json::array({"first"}));
}

TEST(GraphRuntime, NodeFailuresAndUndeclaredChannelsFailTheRun) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"a\"\n" + kChannels + R"(
[nodes.a]
kind = "test.fail"
message = "upstream down"
[[edges]]
from = "a"
to = "__end__"
)");
  ASSERT_TRUE(g.deployment);
  auto failed = runGraph(*g.deployment, request("t", "r", nullptr));
  EXPECT_EQ(failed.status, RunStatus::Failed);
  EXPECT_EQ(failed.error.toString(), "unavailable: node \"a\" failed: upstream down");
  TempDir dir2;
  auto g2 = loadGraphDeployment(dir2, "[graph]\nentry = \"a\"\n" + kChannels + R"(
[nodes.a]
kind = "test.write"
update = { nope = 1 }
[[edges]]
from = "a"
to = "__end__"
)");
  auto undeclared = runGraph(*g2.deployment, request("t", "r", nullptr));
  EXPECT_EQ(undeclared.status, RunStatus::Failed);
  EXPECT_NE(undeclared.error.message().find("node \"a\" wrote undeclared channel \"nope\""), std::string::npos);
}

TEST(GraphRuntime, InitialStateCarriesAConversationAcrossRuns) {
  TempDir dir;
  auto g = loadGraphDeployment(dir, "[graph]\nentry = \"a\"\n" + kChannels + R"(
[nodes.a]
kind = "test.write"
update = { log = ["turn"] }
[[edges]]
from = "a"
to = "__end__"
)");
  auto first = runGraph(*g.deployment, request("conv", "run1", nullptr));
  auto r = request("conv", "run2", nullptr);
  r.initialState = first.state;
  auto second = runGraph(*g.deployment, r);
  EXPECT_EQ(second.state["log"], Json::array({"turn", "turn"}));
}

void checkRetentionAndDelete(Checkpointer& checkpointer) {
  for (int i = 0; i < 30; ++i) {
    Checkpoint c;
    c.threadId = "thread/with spaces";
    c.runId = "r";
    c.step = i;
    c.status = "running";
    c.state = {{"i", i}};
    ASSERT_TRUE(checkpointer.save(c).isOk());
  }
  auto history = checkpointer.history("thread/with spaces");
  ASSERT_TRUE(history.isOk());
  EXPECT_EQ(history->size(), 5u);
  EXPECT_EQ(history->back().state["i"], 29);
  EXPECT_EQ(checkpointer.latest("thread/with spaces", "r")->step, 29);
  ASSERT_TRUE(checkpointer.saveWrite({"thread/with spaces", "r", 30, "n", {{"x", 1}}}).isOk());
  EXPECT_EQ(checkpointer.pendingWrites("thread/with spaces", "r", 30)->size(), 1u);
  ASSERT_TRUE(checkpointer.deleteThread("thread/with spaces").isOk());
  EXPECT_TRUE(checkpointer.history("thread/with spaces")->empty());
  EXPECT_EQ(checkpointer.latest("thread/with spaces", "r").status().code(), Code::NotFound);
}

TEST(Checkpointers, MemoryKeepsTheLastNAndDeletesThreads) {
  MemoryCheckpointer memory(5);
  checkRetentionAndDelete(memory);
}

TEST(Checkpointers, FileKeepsTheLastNAndDeletesThreads) {
  TempDir dir;
  FileCheckpointer file(dir.path() + "/cp", 5);
  checkRetentionAndDelete(file);
}

}  // namespace
}  // namespace mx::host

namespace mx::host {
namespace {

// A checkpointer that fails or throws on chosen steps and records what it saved, in order.
class FlakyCheckpointer final : public Checkpointer {
 public:
  Status save(const Checkpoint& checkpoint) override {
    if (checkpoint.step == 2) throw std::runtime_error("disk on fire");
    if (checkpoint.step == 3) return unavailableError("database away");
    std::lock_guard<std::mutex> lock(mutex_);
    saved.push_back(checkpoint.runId + "@" + std::to_string(checkpoint.step));
    return Status::ok();
  }
  Status saveWrite(const PendingWrite& write) override {
    if (write.node == "bad") return unavailableError("write refused");
    return Status::ok();
  }
  Result<Checkpoint> latest(std::string_view, std::string_view) override { return notFoundError("none"); }
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view, std::string_view, int64_t) override {
    return std::vector<PendingWrite>{};
  }
  Result<std::vector<Checkpoint>> history(std::string_view) override { return std::vector<Checkpoint>{}; }
  Status deleteThread(std::string_view) override { return Status::ok(); }

  std::mutex mutex_;
  std::vector<std::string> saved;
};

Checkpoint checkpointAt(const std::string& run, int64_t step) {
  Checkpoint checkpoint;
  checkpoint.threadId = "t";
  checkpoint.runId = run;
  checkpoint.step = step;
  return checkpoint;
}

TEST(CheckpointWriter, SavesInOrderAndReportsFailuresAndThrowsAsStatuses) {
  auto checkpointer = std::make_shared<FlakyCheckpointer>();
  auto logger = std::make_shared<testing::RecordingLogger>();
  std::promise<Status> thrown, failed, last;
  {
    CheckpointWriter writer(checkpointer, logger);
    writer.save(checkpointAt("r", 0));
    writer.save(checkpointAt("r", 1));
    writer.save(checkpointAt("r", 2), [&](Status s) { thrown.set_value(s); });
    writer.save(checkpointAt("r", 3), [&](Status s) { failed.set_value(s); });
    writer.save(checkpointAt("r", 3) /* logged, not reported */);
    writer.saveWrite({"t", "r", 4, "bad", Json::object()});
    writer.save(checkpointAt("r", 5), [&](Status s) { last.set_value(s); });
  }  // the destructor saves what is queued before it returns
  Status exception = thrown.get_future().get();
  EXPECT_EQ(exception.code(), Code::Internal);
  EXPECT_NE(exception.message().find("checkpointer threw: disk on fire"), std::string::npos) << exception.toString();
  EXPECT_EQ(failed.get_future().get().code(), Code::Unavailable);
  EXPECT_TRUE(last.get_future().get().isOk());
  EXPECT_EQ(checkpointer->saved, (std::vector<std::string>{"r@0", "r@1", "r@5"}));
  EXPECT_TRUE(logger->contains("checkpoint of run r step 3 not saved: unavailable: database away"));
  EXPECT_TRUE(logger->contains("pending write of node \"bad\" not saved"));
}

}  // namespace
}  // namespace mx::host
