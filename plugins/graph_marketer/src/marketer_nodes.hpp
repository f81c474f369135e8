// The node kinds and router of the canon-first marketer flow (graphs/marketer.toml):
//
// marketer.intent  step 2: a Tier 1 model call offered one tool, plan_content;
//   its arguments become the `plan` channel (intent, contentType, objective,
//   targetAudience, tone, knowledgeQuery, webResearch, webQuery, reasoning)
//   and its reasoning a thinking/agent_reasoning event. webResearch holds only
//   when the request enabled web search and a web-search tool exists. A model
//   that answers in text instead is a user just chatting: the text is the
//   answer (intent "chat").
// marketer.call  steps 3-5 and 8: appends an assistant message that calls one
//   tool with arguments filled from the state (templates.hpp); the graph's
//   agent.tools node runs it (status and analysis events, timeouts, schema
//   checks) exactly as if the model had asked.
// marketer.revision (router)  after validation: one revision through the
//   writer when the draft broke rules, then the answer.
//
// Thread-safety: one instance serves every run; per-run data lives in the
// state. Blocking: never (the model call completes asynchronously).
#pragma once

#include <memory>
#include <string>

#include "mx/graph.hpp"
#include "mx/model.hpp"

namespace mx::marketer {

struct IntentConfig {
  std::string model;                 // catalogue id; empty: the tier's default
  int tier = 1;
  std::string systemPrompt;
  int maxTokens = 1024;
  std::string messagesChannel = "messages";
  std::string planChannel = "plan";
  std::string contextChannel = "context";
  std::string preferenceChannel = "modelPreference";
  std::string summaryChannel = "summary";    // older turns, folded by agent.summarize
  std::string webSearchFlag = "enableWebSearch";
  bool webSearchAvailable = false;   // a web-search tool is configured
};

// The plan_content tool offered to the intent model.
ToolDefinition planTool();

class IntentNode final : public Node {
 public:
  IntentNode(IntentConfig config, std::shared_ptr<ModelCatalogue> models);
  void run(std::shared_ptr<NodeContext> context, NodeDone done) override;
  std::string modelFor(const Json& state) const;

 private:
  IntentConfig config_;
  std::shared_ptr<ModelCatalogue> models_;
};

// Checks and completes a plan_content call's arguments (the run's web-search
// permission applied). InvalidArgument says what the model got wrong.
Result<Json> normalizePlan(const Json& input, bool webSearchAllowed);

struct CallConfig {
  std::string tool;                  // the tool instance to call
  Json arguments = Json::object();   // templates (templates.hpp)
  std::string reasoning;             // template: the assistant's words before the call
  std::string messagesChannel = "messages";
};

class CallNode final : public Node {
 public:
  explicit CallNode(CallConfig config) : config_(std::move(config)) {}
  void run(std::shared_ptr<NodeContext> context, NodeDone done) override;

 private:
  CallConfig config_;
};

struct RevisionConfig {
  std::string validateTool = "validate-content";
  std::string writerTool = "content-execution";
  int maxRevisions = 1;
  std::string revise;                // the node that asks for a revision
  std::string finish;                // the node after a passing (or final) draft
  std::string messagesChannel = "messages";
};

class RevisionRouter final : public Router {
 public:
  explicit RevisionRouter(RevisionConfig config) : config_(std::move(config)) {}
  Result<std::vector<std::string>> route(const Json& state) override;

 private:
  RevisionConfig config_;
};

}  // namespace mx::marketer
