#include "agent_nodes.hpp"

#include <algorithm>
#include "mx/json_text.hpp"
#include "mx_common/conversation_window.hpp"
#include "mx_common/model_choice.hpp"

namespace mx::agent {

namespace {
constexpr size_t kMostListedFlags = 8;  // 256 tool sets at most
}

ModelNode::ModelNode(ModelNodeConfig config, std::shared_ptr<ModelCatalogue> models,
                     std::vector<std::shared_ptr<Tool>> tools)
    : config_(std::move(config)), models_(std::move(models)) {
  for (const auto& tool : tools) toolDefinitions_.push_back(tool->definition());
  for (const auto& [tool, key] : config_.toolFlags) {
    if (std::find(flagKeys_.begin(), flagKeys_.end(), key) == flagKeys_.end()) flagKeys_.push_back(key);
  }
  if (flagKeys_.size() <= kMostListedFlags) {
    for (uint32_t flagsOn = 0; flagsOn < (1u << flagKeys_.size()); ++flagsOn) toolSets_.push_back(buildToolSet(flagsOn));
  }
}

std::string ModelNode::modelFor(const Json& state) const {
  return common::modelForTier(state, config_.preferenceChannel, config_.tier, config_.model, *models_);
}

// `flagOn(key)`: whether state.context has that key true.
template <class FlagOn>
ToolSet ModelNode::toolsWhere(FlagOn flagOn) const {
  std::vector<ToolDefinition> offered;
  for (const auto& tool : toolDefinitions_) {
    auto flag = config_.toolFlags.find(tool.name);
    if (flag != config_.toolFlags.end() && !flagOn(flag->second)) continue;
    offered.push_back(tool);
  }
  return offered;
}

ToolSet ModelNode::buildToolSet(uint32_t flagsOn) const {
  return toolsWhere([&](const std::string& key) {
    auto bit = static_cast<size_t>(std::find(flagKeys_.begin(), flagKeys_.end(), key) - flagKeys_.begin());
    return (flagsOn & (1u << bit)) != 0;
  });
}

ToolSet ModelNode::toolsFor(const Json& state) const {
  auto context = state.find("context");
  auto flagOn = [&](const std::string& key) {
    if (context == state.end() || !context->is_object()) return false;
    auto flag = context->find(key);
    return flag != context->end() && *flag == true;
  };
  if (toolSets_.empty()) return toolsWhere(flagOn);
  uint32_t flagsOn = 0;
  for (size_t i = 0; i < flagKeys_.size(); ++i) {
    if (flagOn(flagKeys_[i])) flagsOn |= 1u << i;
  }
  return toolSets_[flagsOn];
}

namespace {

class ReasoningObserver final : public ChatObserver {
 public:
  ReasoningObserver(std::shared_ptr<NodeContext> context, bool emit, std::string model, std::string usageChannel,
                    NodeDone done)
      : context_(std::move(context)), emit_(emit), model_(std::move(model)), usageChannel_(std::move(usageChannel)),
        done_(std::move(done)) {}

  void onTextDelta(std::string_view text) override {
    if (emit_ && context_->events != nullptr) {
      // One event per token: written as text, as emitJson would write the tree (keys in order).
      std::string data = "{\"content\":";
      appendJsonString(data, text);
      data.append(",\"type\":\"agent_reasoning\"}");
      context_->events->emit("thinking", std::move(data));
    }
  }

  void onComplete(const Status& status, ChatResponse response) override {
    if (context_->usage != nullptr) context_->usage->record(model_, response.usage, response.costUsd, status.isOk());
    if (!status.isOk()) {
      done_(status.withContext("model " + model_));
      return;
    }
    Json usage = context_->state->contains(usageChannel_) && (*context_->state)[usageChannel_].is_object()
                     ? (*context_->state)[usageChannel_]
                     : Json::object();
    auto add = [&usage](const char* key, int64_t value) { usage[key] = usage.value(key, int64_t{0}) + value; };
    add("inputTokens", response.usage.inputTokens);
    add("outputTokens", response.usage.outputTokens);
    add("cacheWriteTokens", response.usage.cacheWriteTokens());
    add("cacheReadTokens", response.usage.cacheReadTokens);
    add("modelCalls", 1);
    usage["costUsd"] = usage.value("costUsd", 0.0) + response.costUsd;
    done_(Json{{"messages", Json::array({toJson(std::move(response.message))})}, {usageChannel_, std::move(usage)}});
  }

 private:
  std::shared_ptr<NodeContext> context_;
  bool emit_;
  std::string model_;
  std::string usageChannel_;
  NodeDone done_;
};

}  // namespace

ChatRequest ModelNode::requestFor(const NodeContext& context) const {
  ChatRequest request;
  request.maxTokens = config_.maxTokens;
  request.temperature = config_.temperature;
  request.cacheTtl = config_.cacheTtl;
  request.userId = context.userId;
  if (!config_.systemPrompt.empty()) request.system.push_back(ContentBlock::makeText(config_.systemPrompt));
  request.tools = toolsFor(*context.state);
  common::addConversation(*context.state, config_.messagesChannel, config_.summaryChannel, request);
  return request;
}

void ModelNode::run(std::shared_ptr<NodeContext> context, NodeDone done) {
  std::string model = modelFor(*context->state);
  if (model.empty()) {
    done(failedPreconditionError("no model configured for tier " + std::to_string(config_.tier)));
    return;
  }
  if (arrayMember(*context->state, config_.messagesChannel).empty()) {
    done(failedPreconditionError("channel \"" + config_.messagesChannel + "\" has no messages for the model"));
    return;
  }
  if (!config_.status.empty() && context->events != nullptr) {
    context->events->emitJson("thinking", {{"type", "tool_status"}, {"content", config_.status}, {"status", "running"},
                                           {"node", context->nodeName}});
  }
  auto observer = std::make_shared<ReasoningObserver>(context, config_.emitReasoning, model, config_.usageChannel, std::move(done));
  // Built again for a fallback model instead of kept: the state does not change during the step, and the
  // run holds its graph (this node) until the step is over.
  CancellationToken cancel = context->cancel;
  models_->chatRebuilding(
      model, [this, context] { return requestFor(*context); }, std::move(observer), std::move(cancel));
}

}  // namespace mx::agent
