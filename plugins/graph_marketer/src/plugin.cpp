// Front door of graph_marketer: the node kinds and router of the canon-first
// marketer flow (marketer_nodes.hpp, graphs/marketer.toml).
#include "marketer_nodes.hpp"
#include "mx/plugin.hpp"
#include "mx_common/prompt_file.hpp"
#include "templates.hpp"

namespace {

mx::Factory<mx::Node> intentKind() {
  mx::Factory<mx::Node> intent;
  intent.name = "marketer.intent";
  intent.description = "Tier 1 intent analysis: the plan of the turn (plan_content), or a plain answer";
  intent.schema = mx::ConfigSchema()
                      .optional("model", mx::ConfigType::String, "", "catalogue id (default: the tier's default)")
                      .optional("tier", mx::ConfigType::Integer, 1, "model tier")
                      .optional("system_prompt", mx::ConfigType::String, "", "system prompt text")
                      .optional("system_prompt_file", mx::ConfigType::String, "", "system prompt file, relative to the graph")
                      .optional("max_tokens", mx::ConfigType::Integer, 1024, "largest answer")
                      .optional("messages_channel", mx::ConfigType::String, "messages", "conversation channel")
                      .optional("plan_channel", mx::ConfigType::String, "plan", "where the plan goes")
                      .optional("context_channel", mx::ConfigType::String, "context", "the request's context")
                      .optional("preference_channel", mx::ConfigType::String, "modelPreference", "per-run model choice")
                      .optional("summary_channel", mx::ConfigType::String, "summary", "agent.summarize's channel (older turns)")
                      .optional("web_search_flag", mx::ConfigType::String, "enableWebSearch", "context flag that allows web research")
                      .optional("web_search_tool", mx::ConfigType::String, "web-search", "tool instance; absent: no web research");
  intent.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Node>> {
    const mx::Json& c = context.config();
    int64_t tier = c["tier"];
    if (tier != 1 && tier != 2) return mx::invalidArgumentError("tier must be 1 or 2");
    if (c["max_tokens"].get<int64_t>() < 1) return mx::invalidArgumentError("max_tokens must be at least 1");
    if (!context.models()) return mx::failedPreconditionError("no model catalogue");
    auto prompt = mx::common::readSystemPrompt(context);
    if (!prompt) return prompt.status();
    mx::marketer::IntentConfig config;
    config.model = c["model"];
    config.tier = static_cast<int>(tier);
    config.systemPrompt = *prompt;
    config.maxTokens = static_cast<int>(c["max_tokens"].get<int64_t>());
    config.messagesChannel = c["messages_channel"];
    config.planChannel = c["plan_channel"];
    config.contextChannel = c["context_channel"];
    config.preferenceChannel = c["preference_channel"];
    config.summaryChannel = c["summary_channel"];
    config.webSearchFlag = c["web_search_flag"];
    config.webSearchAvailable = context.tool(c["web_search_tool"].get<std::string>()).isOk();
    if (!config.model.empty() && context.models()->find(config.model) == nullptr) {
      return mx::invalidArgumentError("model \"" + config.model + "\" is not in the catalogue");
    }
    return std::unique_ptr<mx::Node>(std::make_unique<mx::marketer::IntentNode>(config, context.models()));
  };
  return intent;
}

mx::Factory<mx::Node> callKind() {
  mx::Factory<mx::Node> call;
  call.name = "marketer.call";
  call.description = "asks for one tool call with arguments filled from the state (run it with agent.tools)";
  call.schema = mx::ConfigSchema()
                    .required("tool", mx::ConfigType::String, "the tool instance to call")
                    .optional("arguments", mx::ConfigType::Table, mx::Json::object(), "argument templates: {plan.x}, {result:tool.path}, {user_message}")
                    .optional("reasoning", mx::ConfigType::String, "", "template: what the assistant says before the call")
                    .optional("messages_channel", mx::ConfigType::String, "messages", "conversation channel");
  call.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Node>> {
    const mx::Json& c = context.config();
    std::string tool = c["tool"];
    auto found = context.tool(tool);
    if (!found) return found.status();
    MX_RETURN_IF_ERROR(mx::marketer::checkTemplate(c["arguments"]).withContext("arguments"));
    MX_RETURN_IF_ERROR(mx::marketer::checkTemplate(c["reasoning"]).withContext("reasoning"));
    mx::marketer::CallConfig config;
    config.tool = (*found)->definition().name;
    config.arguments = c["arguments"];
    config.reasoning = c["reasoning"];
    config.messagesChannel = c["messages_channel"];
    return std::unique_ptr<mx::Node>(std::make_unique<mx::marketer::CallNode>(config));
  };
  return call;
}

mx::Factory<mx::Router> revisionKind() {
  mx::Factory<mx::Router> revision;
  revision.name = "marketer.revision";
  revision.description = "after validation: the revise node while the draft breaks rules and revisions remain, else finish";
  revision.schema = mx::ConfigSchema()
                        .required("revise", mx::ConfigType::String, "node that asks the writer for a revision")
                        .required("finish", mx::ConfigType::String, "node after a passing or final draft")
                        .optional("validate_tool", mx::ConfigType::String, "validate-content", "the validation tool's name")
                        .optional("writer_tool", mx::ConfigType::String, "content-execution", "the writer tool's name")
                        .optional("max_revisions", mx::ConfigType::Integer, 1, "revision passes at most")
                        .optional("messages_channel", mx::ConfigType::String, "messages", "conversation channel");
  revision.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Router>> {
    const mx::Json& c = context.config();
    if (c["max_revisions"].get<int64_t>() < 0) return mx::invalidArgumentError("max_revisions must not be negative");
    mx::marketer::RevisionConfig config;
    config.revise = c["revise"];
    config.finish = c["finish"];
    config.validateTool = c["validate_tool"];
    config.writerTool = c["writer_tool"];
    config.maxRevisions = static_cast<int>(c["max_revisions"].get<int64_t>());
    config.messagesChannel = c["messages_channel"];
    return std::unique_ptr<mx::Router>(std::make_unique<mx::marketer::RevisionRouter>(config));
  };
  return revision;
}

}  // namespace

MX_PLUGIN("graph_marketer", "0.1.0", "The canon-first marketer flow: intent analysis, scripted tool steps, revision routing") {
  MX_RETURN_IF_ERROR(registrar.addNodeKind(intentKind()));
  MX_RETURN_IF_ERROR(registrar.addNodeKind(callKind()));
  return registrar.addRouter(revisionKind());
}
