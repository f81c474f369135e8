// A model provider that replays a script given in its config, built on the
// SDK's FakeModelProvider: for agent-loop tests through the real runtime.
//   script = [ { text = ["..."], tool_calls = [{ id, name, input }], stop = "tool_use", fail = "" } ]
#include "mx/plugin.hpp"
#include "mx/testing/fakes.hpp"

namespace {

mx::StopReason stopFrom(const std::string& s) {
  if (s == "tool_use") return mx::StopReason::ToolUse;
  if (s == "max_tokens") return mx::StopReason::MaxTokens;
  return mx::StopReason::EndTurn;
}

}  // namespace

MX_PLUGIN("test_scripted_model", "0.1.0", "Scripted model provider for tests") {
  mx::Factory<mx::ModelProvider> factory;
  factory.name = "scripted";
  factory.schema = mx::ConfigSchema().optional("script", mx::ConfigType::Array, mx::Json::array(), "the replies, in order");
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::ModelProvider>> {
    std::vector<mx::testing::ScriptedReply> script;
    for (const auto& step : context.config()["script"]) {
      mx::testing::ScriptedReply reply;
      reply.textDeltas = step.value("text", std::vector<std::string>{});
      for (const auto& call : step.value("tool_calls", mx::Json::array())) {
        reply.toolCalls.push_back(mx::ContentBlock::makeToolUse(call["id"], call["name"], call["input"]));
      }
      reply.stopReason = stopFrom(step.value("stop", reply.toolCalls.empty() ? "end_turn" : "tool_use"));
      reply.usage.inputTokens = step.value("input_tokens", 100);
      reply.usage.outputTokens = step.value("output_tokens", 10);
      std::string fail = step.value("fail", "");
      if (!fail.empty()) reply.failure = mx::unavailableError(fail);
      script.push_back(std::move(reply));
    }
    return std::unique_ptr<mx::ModelProvider>(std::make_unique<mx::testing::FakeModelProvider>(std::move(script)));
  };
  return registrar.addModelProvider(std::move(factory));
}
