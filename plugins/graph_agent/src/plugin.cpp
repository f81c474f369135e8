// Front door of graph_agent: the node kinds of the generic tool-calling loop.
#include "agent_nodes.hpp"
#include "mx/plugin.hpp"
#include "mx_common/prompt_file.hpp"

namespace {

mx::Result<std::vector<std::shared_ptr<mx::Tool>>> lookUpTools(mx::ComponentContext& context) {
  std::vector<std::shared_ptr<mx::Tool>> tools;
  for (const auto& name : context.config()["tools"]) {
    auto tool = context.tool(name.get<std::string>());
    if (!tool) return tool.status();
    tools.push_back(*tool);
  }
  return tools;
}

}  // namespace

MX_PLUGIN("graph_agent", "0.1.0", "Generic tool-calling loop: a model node and a tool-executor node") {
  mx::Factory<mx::Node> model;
  model.name = "agent.model";
  model.description = "calls a catalogue model with the conversation and the tools' schemas";
  model.schema = mx::ConfigSchema()
                     .optional("model", mx::ConfigType::String, "", "catalogue id (default: the tier's default)")
                     .optional("tier", mx::ConfigType::Integer, 1, "1 orchestrator, 2 writer")
                     .optional("tools", mx::ConfigType::StringArray, mx::Json::array(), "tool instances offered")
                     .optional("system_prompt", mx::ConfigType::String, "", "system prompt text")
                     .optional("system_prompt_file", mx::ConfigType::String, "", "system prompt file, relative to the graph")
                     .optional("max_tokens", mx::ConfigType::Integer, 4096, "largest answer")
                     .optional("temperature", mx::ConfigType::Float, -1.0, "sampling temperature (negative: provider default)")
                     .optional("messages_channel", mx::ConfigType::String, "messages", "conversation channel")
                     .optional("usage_channel", mx::ConfigType::String, "usage", "token and cost totals channel")
                     .optional("preference_channel", mx::ConfigType::String, "modelPreference", "per-run model choice")
                     .optional("emit_reasoning", mx::ConfigType::Boolean, true, "stream text as thinking events")
                     .optional("cache_ttl", mx::ConfigType::String, "5m", "prompt cache TTL: 5m or 1h")
                     .optional("tool_flags", mx::ConfigType::Table, mx::Json::object(),
                               "tool = flag: offer the tool only when state.context.<flag> is true")
                     .optional("status", mx::ConfigType::String, "", "a thinking/tool_status line when the call starts")
                     .optional("summary_channel", mx::ConfigType::String, "summary", "agent.summarize's channel (older turns)");
  model.validate = [](const mx::Json& c) -> mx::Status {
    int64_t tier = c["tier"];
    if (tier != 1 && tier != 2) return mx::invalidArgumentError("tier must be 1 or 2");
    if (c["cache_ttl"] != "5m" && c["cache_ttl"] != "1h") return mx::invalidArgumentError("cache_ttl must be \"5m\" or \"1h\"");
    if (c["max_tokens"].get<int64_t>() < 1) return mx::invalidArgumentError("max_tokens must be at least 1");
    return mx::Status::ok();
  };
  model.create = [validate = model.validate](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Node>> {
    const mx::Json& c = context.config();
    MX_RETURN_IF_ERROR(validate(c));
    auto tools = lookUpTools(context);
    if (!tools) return tools.status();
    auto prompt = mx::common::readSystemPrompt(context);
    if (!prompt) return prompt.status();
    if (!context.models()) return mx::failedPreconditionError("no model catalogue");
    mx::agent::ModelNodeConfig config;
    config.model = c["model"];
    config.tier = c["tier"];
    config.systemPrompt = *prompt;
    config.maxTokens = c["max_tokens"];
    if (c["temperature"].get<double>() >= 0) config.temperature = c["temperature"].get<double>();
    config.messagesChannel = c["messages_channel"];
    config.usageChannel = c["usage_channel"];
    config.preferenceChannel = c["preference_channel"];
    config.emitReasoning = c["emit_reasoning"];
    config.status = c["status"];
    config.summaryChannel = c["summary_channel"];
    config.cacheTtl = c["cache_ttl"] == "1h" ? mx::CacheTtl::OneHour : mx::CacheTtl::FiveMinutes;
    for (const auto& [tool, flag] : c["tool_flags"].items()) {
      if (!flag.is_string()) return mx::invalidArgumentError("tool_flags values must be strings (keys of the context)");
      config.toolFlags[tool] = flag.get<std::string>();
    }
    if (!config.model.empty() && context.models()->find(config.model) == nullptr) {
      return mx::invalidArgumentError("model \"" + config.model + "\" is not in the catalogue");
    }
    return std::unique_ptr<mx::Node>(std::make_unique<mx::agent::ModelNode>(config, context.models(), std::move(*tools)));
  };
  MX_RETURN_IF_ERROR(registrar.addNodeKind(std::move(model)));

  mx::Factory<mx::Node> summarize;
  summarize.name = "agent.summarize";
  summarize.description = "summarises older turns when the conversation outgrows the model's window";
  summarize.schema = mx::ConfigSchema()
                         .optional("model", mx::ConfigType::String, "", "catalogue id (default: the tier's default)")
                         .optional("tier", mx::ConfigType::Integer, 2, "the summarising model's tier")
                         .optional("budget_tokens", mx::ConfigType::Integer, 0, "summarise above this (0: half the Tier 1 window)")
                         .optional("keep_recent", mx::ConfigType::Integer, 20, "newest messages always kept as they are")
                         .optional("max_tokens", mx::ConfigType::Integer, 1024, "longest summary")
                         .optional("system_prompt", mx::ConfigType::String, "", "instructions (default: a built-in summary prompt)")
                         .optional("messages_channel", mx::ConfigType::String, "messages", "conversation channel")
                         .optional("summary_channel", mx::ConfigType::String, "summary", "where the summary goes")
                         .optional("preference_channel", mx::ConfigType::String, "modelPreference", "per-run model choice");
  summarize.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Node>> {
    const mx::Json& c = context.config();
    int64_t tier = c["tier"];
    if (tier != 1 && tier != 2) return mx::invalidArgumentError("tier must be 1 or 2");
    if (c["budget_tokens"].get<int64_t>() < 0) return mx::invalidArgumentError("budget_tokens must not be negative");
    if (c["keep_recent"].get<int64_t>() < 1) return mx::invalidArgumentError("keep_recent must be at least 1");
    if (c["max_tokens"].get<int64_t>() < 1) return mx::invalidArgumentError("max_tokens must be at least 1");
    if (!context.models()) return mx::failedPreconditionError("no model catalogue");
    mx::agent::SummarizeConfig config;
    config.model = c["model"];
    config.tier = static_cast<int>(tier);
    config.budgetTokens = c["budget_tokens"];
    config.keepRecent = c["keep_recent"].get<size_t>();
    config.maxTokens = static_cast<int>(c["max_tokens"].get<int64_t>());
    config.systemPrompt = c["system_prompt"];
    config.messagesChannel = c["messages_channel"];
    config.summaryChannel = c["summary_channel"];
    config.preferenceChannel = c["preference_channel"];
    if (!config.model.empty() && context.models()->find(config.model) == nullptr) {
      return mx::invalidArgumentError("model \"" + config.model + "\" is not in the catalogue");
    }
    return std::unique_ptr<mx::Node>(std::make_unique<mx::agent::SummarizeNode>(config, context.models()));
  };
  MX_RETURN_IF_ERROR(registrar.addNodeKind(std::move(summarize)));

  mx::Factory<mx::Node> tools;
  tools.name = "agent.tools";
  tools.description = "runs the last assistant message's tool calls (validated, in parallel, with timeouts)";
  tools.schema = mx::ConfigSchema()
                     .optional("tools", mx::ConfigType::StringArray, mx::Json::array(), "tool instances it may run")
                     .optional("timeout_ms", mx::ConfigType::Integer, 30000, "per tool call")
                     .optional("messages_channel", mx::ConfigType::String, "messages", "conversation channel")
                     .optional("emit_status", mx::ConfigType::Boolean, true, "emit thinking/tool_status events")
                     .optional("analysis", mx::ConfigType::Table, mx::Json::object(),
                               "tool = analysis type: summarise its results as an analysis event");
  tools.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Node>> {
    const mx::Json& c = context.config();
    if (c["timeout_ms"].get<int64_t>() < 1) return mx::invalidArgumentError("timeout_ms must be at least 1");
    auto found = lookUpTools(context);
    if (!found) return found.status();
    mx::agent::ToolsNodeConfig config;
    config.timeout = std::chrono::milliseconds(c["timeout_ms"].get<int64_t>());
    config.messagesChannel = c["messages_channel"];
    config.emitStatus = c["emit_status"];
    for (const auto& [tool, type] : c["analysis"].items()) {
      if (!type.is_string()) return mx::invalidArgumentError("analysis values must be strings (analysis types)");
      config.analysis[tool] = type.get<std::string>();
    }
    std::shared_ptr<mx::HttpClient> http = context.httpClient();
    mx::agent::Timer timer = [http](std::chrono::milliseconds delay, std::function<void()> task) {
      http->runAfter(delay, std::move(task));
    };
    return std::unique_ptr<mx::Node>(std::make_unique<mx::agent::ToolsNode>(config, std::move(*found), timer));
  };
  return registrar.addNodeKind(std::move(tools));
}
