// The generic tool-calling loop of graph_agent, as two node kinds:
//
// agent.model  calls a model of the catalogue with the conversation in the
//   messages channel and the schemas of its tools; streams the model's text as
//   `thinking` events (type agent_reasoning); appends the assistant message and
//   adds the call's tokens and cost to the usage channel.
// agent.summarize  keeps a long conversation within the Tier 1 model's
//   window: when the messages not yet summarised pass the budget (half the
//   model's context window by default), the older turns — all but the newest
//   `keep_recent` messages, cut at a user's turn — are summarised by a model
//   (Tier 2 by default) into the summary channel ({through, text}); model
//   nodes then send that summary as a system block and the messages after it.
//   Below the budget it does nothing (no model call).
// agent.tools  runs the tool calls of the last assistant message (in parallel
//   when there are several), each with a timeout, after validating its
//   arguments against the tool's JSON Schema (invalid arguments go back to
//   the model as a tool error, not a crash); emits `thinking` events of type
//   tool_status; appends one user message with every tool_result in call order.
//
// Thread-safety: one node instance serves every run; per-run data lives in
// the state. Blocking: never (model calls and tools complete asynchronously).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "call_deadlines.hpp"
#include "mx/component.hpp"
#include "mx/graph.hpp"
#include "mx/http.hpp"
#include "mx/model.hpp"
#include "mx/tool.hpp"

namespace mx::agent {

struct ModelNodeConfig {
  std::string model;            // catalogue id; empty: the tier's default
  int tier = 1;
  std::string systemPrompt;
  int maxTokens = 4096;
  std::optional<double> temperature;
  std::string messagesChannel = "messages";
  std::string usageChannel = "usage";
  std::string preferenceChannel = "modelPreference";
  bool emitReasoning = true;
  CacheTtl cacheTtl = CacheTtl::FiveMinutes;
  std::map<std::string, std::string> toolFlags;  // tool -> key of state.context that must be true to offer it
  std::string status;           // a thinking/tool_status line emitted when the call starts ("Preparing the brief")
  std::string summaryChannel = "summary";  // agent.summarize's output: older turns folded into a system block
};

struct SummarizeConfig {
  std::string model;            // catalogue id; empty: the tier's default
  int tier = 2;
  int64_t budgetTokens = 0;     // 0: half the Tier 1 model's context window
  size_t keepRecent = 20;       // newest messages always sent as they are
  int maxTokens = 1024;
  std::string systemPrompt;     // empty: kSummarizePrompt
  std::string messagesChannel = "messages";
  std::string summaryChannel = "summary";
  std::string preferenceChannel = "modelPreference";
};

extern const char* const kSummarizePrompt;

class SummarizeNode final : public Node {
 public:
  SummarizeNode(SummarizeConfig config, std::shared_ptr<ModelCatalogue> models);
  void run(std::shared_ptr<NodeContext> context, NodeDone done) override;
  int64_t budgetFor(const Json& state) const;
  // The first message kept as it is: a user's turn with at least keepRecent messages from it; 0 if none.
  size_t cutPoint(const Json& messages, size_t through) const;

 private:
  std::string modelFor(const Json& state) const;

  SummarizeConfig config_;
  std::shared_ptr<ModelCatalogue> models_;
};

class ModelNode final : public Node {
 public:
  ModelNode(ModelNodeConfig config, std::shared_ptr<ModelCatalogue> models, std::vector<std::shared_ptr<Tool>> tools);
  void run(std::shared_ptr<NodeContext> context, NodeDone done) override;

  // The catalogue id this run uses: the state's preference, else the config, else the tier default.
  std::string modelFor(const Json& state) const;

 private:
  ChatRequest requestFor(const NodeContext& context) const;
  ToolSet toolsFor(const Json& state) const;
  ToolSet buildToolSet(uint32_t flagsOn) const;
  template <class FlagOn>
  ToolSet toolsWhere(FlagOn flagOn) const;

  ModelNodeConfig config_;
  std::shared_ptr<ModelCatalogue> models_;
  std::vector<ToolDefinition> toolDefinitions_;
  std::vector<std::string> flagKeys_;  // the distinct state.context keys of toolFlags
  // Built once: the tools offered for each combination of flagKeys_ that are
  // true (bit i: flagKeys_[i]); empty when there are too many flags to list.
  std::vector<ToolSet> toolSets_;
};

struct ToolsNodeConfig {
  std::chrono::milliseconds timeout{30000};
  std::string messagesChannel = "messages";
  bool emitStatus = true;
  // tool -> analysis type: after the tool succeeds, an `analysis` event of that
  // type summarises its results ("knowledge-search" -> "knowledge_summary").
  std::map<std::string, std::string> analysis;
};

// {type, content, count, sources[]} from a search tool's result.
Json summarizeResults(const std::string& type, const Json& result);

using Timer = std::function<void(std::chrono::milliseconds, std::function<void()>)>;

class ToolsNode final : public Node {
 public:
  ToolsNode(ToolsNodeConfig config, std::vector<std::shared_ptr<Tool>> tools, Timer timer);
  void run(std::shared_ptr<NodeContext> context, NodeDone done) override;

 private:
  ToolsNodeConfig config_;
  std::map<std::string, std::shared_ptr<Tool>> tools_;   // by the name the model sees
  std::map<std::string, ToolDefinition> definitions_;
  std::shared_ptr<CallDeadlines> deadlines_;  // null: no timer, no timeouts
};

}  // namespace mx::agent
