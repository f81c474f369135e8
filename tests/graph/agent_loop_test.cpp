// graph_agent's tool-calling loop through the real runtime, with a scripted
// model: tool calls, parallel calls, invalid arguments fed back to the model.
#include <gtest/gtest.h>

#include "graph_support.hpp"

namespace mx::host {
namespace {

TEST(AgentLoop, ToolCallsParallelCallsAndInvalidArguments) {
  mx::test::TempDir dir;
  dir.write("agent.toml", R"TOML(
[graph]
entry = "model"
[channels.messages]
reducer = "append"
default = []
[channels.usage]
[channels.modelPreference]
[nodes.model]
kind = "agent.model"
tools = ["lookup"]
system_prompt = "You are a test agent."
[nodes.tools]
kind = "agent.tools"
tools = ["lookup"]
timeout_ms = 2000
[[edges]]
from = "model"
to = "tools"
when = "has_tool_calls(messages)"
[[edges]]
from = "model"
to = "__end__"
when = "not has_tool_calls(messages)"
[[edges]]
from = "tools"
to = "model"
)TOML");
  std::string config = dir.write("deploy.toml", R"(
[server]
log_level = "error"
[[plugins]]
path = ")" MX_TEST_PLUGIN_DIR R"(/graph_test_plugin.so"
[[plugins]]
path = ")" MX_TEST_PLUGIN_DIR R"(/scripted_model_plugin.so"
[[plugins]]
path = ")" MX_PLUGIN_DIR R"(/graph_agent.so"
[tools.lookup]
factory = "test.lookup"
delay_ms = 150
[providers.scripted]
factory = "scripted"
script = [
  { text = ["I'll look ", "both up."], tool_calls = [ { id = "c1", name = "lookup", input = { q = "a" } },
                                                     { id = "c2", name = "lookup", input = { q = "b" } } ] },
  { text = ["One more."], tool_calls = [ { id = "c3", name = "lookup", input = { q = 5 } } ] },
  { text = ["Done: a and b found."] },
]
[models.scripted-1]
provider = "scripted"
tiers = [1, 2]
default_for = [1, 2]
output_per_mtok = 1000.0
[graphs.g]
file = "agent.toml"
)");
  std::vector<std::string> errors;
  auto deployment = Deployment::load(config, processEnvironment(), errors);
  ASSERT_TRUE(deployment) << errors[0];
  ASSERT_TRUE(deployment->instantiate().isOk());
  testing::RecordingEventSink sink;
  auto started = std::chrono::steady_clock::now();
  auto outcome = mx::test::runGraph(*deployment, mx::test::request("t", "r", &sink,
                                                                  {{"messages", Json::array({{{"role", "user"}, {"content", "Find a and b"}}})}}));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(outcome.status, RunStatus::Completed) << outcome.error.toString();
  EXPECT_EQ(outcome.steps, 5);  // model, tools, model, tools, model
  EXPECT_LT(took, std::chrono::milliseconds(290));  // the two 150 ms lookups ran in parallel
  const Json& messages = outcome.state["messages"];
  ASSERT_EQ(messages.size(), 6u);
  EXPECT_EQ(messages[2]["content"][0]["tool_use_id"], "c1");
  EXPECT_EQ(Json::parse(messages[2]["content"][0]["content"].get<std::string>())["found"], "result for a");
  EXPECT_EQ(messages[2]["content"][1]["tool_use_id"], "c2");
  EXPECT_EQ(messages[4]["content"][0]["is_error"], true);
  EXPECT_EQ(messages[4]["content"][0]["content"], "Error: invalid arguments for lookup: /q: expected string, got integer;");
  EXPECT_EQ(messages[5]["content"][0]["text"], "Done: a and b found.");
  EXPECT_EQ(outcome.state["usage"]["modelCalls"], 3);
  EXPECT_EQ(outcome.state["usage"]["outputTokens"], 30);
  EXPECT_DOUBLE_EQ(outcome.state["usage"]["costUsd"].get<double>(), 30 * 1000.0 / 1e6);
  int reasoning = 0, toolStatus = 0;
  for (const auto& e : sink.events()) {
    auto data = e.json();
    reasoning += data["type"] == "agent_reasoning";
    toolStatus += data["type"] == "tool_status";
  }
  EXPECT_EQ(reasoning, 4);
  EXPECT_EQ(toolStatus, 2 + 2 + 1);  // running+done for c1, c2; an error for c3
}

}  // namespace
}  // namespace mx::host
