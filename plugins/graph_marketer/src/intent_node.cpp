#include <algorithm>

#include "marketer_nodes.hpp"
#include "mx_common/conversation_window.hpp"
#include "mx_common/model_choice.hpp"

namespace mx::marketer {

namespace {

const std::vector<std::string> kContentTypes = {"email", "ad", "landing-page", "script"};

bool truthy(const Json& value) {
  return !(value.is_null() || (value.is_boolean() && !value.get<bool>()) || (value.is_string() && value.get<std::string>().empty()));
}

class IntentObserver final : public ChatObserver {
 public:
  IntentObserver(std::shared_ptr<NodeContext> context, IntentConfig config, std::string model, NodeDone done)
      : context_(std::move(context)), config_(std::move(config)), model_(std::move(model)), done_(std::move(done)) {}

  void onTextDelta(std::string_view text) override {
    streamedText_ = true;
    if (context_->events != nullptr) context_->events->emitJson("thinking", {{"type", "agent_reasoning"}, {"content", text}});
  }

  void onComplete(const Status& status, ChatResponse response) override {
    if (context_->usage != nullptr) context_->usage->record(model_, response.usage, response.costUsd, status.isOk());
    if (!status.isOk()) return done_(status.withContext("intent analysis (" + model_ + ")"));
    const ContentBlock* call = nullptr;
    std::string text;
    for (const auto& block : response.message.content) {
      if (block.type == BlockType::ToolUse && block.name == planTool().name && call == nullptr) call = &block;
      if (block.type == BlockType::Text) text += block.text;
    }
    if (call == nullptr) {  // just chatting: the model's words are the answer
      Message answer;
      answer.role = Role::Assistant;
      answer.content.push_back(ContentBlock::makeText(text));
      return done_(Json{{config_.planChannel, {{"intent", "chat"}}},
                        {config_.messagesChannel, Json::array({toJson(std::move(answer))})}});
    }
    const Json& state = *context_->state;
    bool allowed = config_.webSearchAvailable && state.contains(config_.contextChannel) &&
                   state[config_.contextChannel].is_object() &&
                   truthy(state[config_.contextChannel].value(config_.webSearchFlag, Json(false)));
    auto plan = normalizePlan(call->input, allowed);
    if (!plan) return done_(plan.status().withContext("intent analysis (" + model_ + ")"));
    if (!streamedText_ && context_->events != nullptr) {
      context_->events->emitJson("thinking", {{"type", "agent_reasoning"}, {"content", (*plan)["reasoning"]}});
    }
    done_(Json{{config_.planChannel, *plan}});
  }

 private:
  std::shared_ptr<NodeContext> context_;
  IntentConfig config_;
  std::string model_;
  NodeDone done_;
  bool streamedText_ = false;
};

}  // namespace

ToolDefinition planTool() {
  static const Json schema = Json::parse(R"({
    "type": "object",
    "properties": {
      "intent": {"type": "string", "enum": ["create", "chat"], "description": "create: the user wants content made or changed; chat: anything else"},
      "contentType": {"type": "string", "enum": ["email", "ad", "landing-page", "script"]},
      "objective": {"type": "string", "description": "what the content must achieve, in one sentence"},
      "topic": {"type": "string", "description": "the offer, product or event, in a few words"},
      "targetAudience": {"type": "string"},
      "tone": {"type": "string"},
      "knowledgeQuery": {"type": "string", "description": "what to search the brand's documents for"},
      "webResearch": {"type": "boolean", "description": "true only if current information from the web would improve the content"},
      "webQuery": {"type": "string"},
      "reasoning": {"type": "string", "description": "one or two sentences shown to the user: what you understood and will do"}
    },
    "required": ["intent", "reasoning"]
  })");
  return {"plan_content", "Record your analysis of the user's request before anything else is done.", schema};
}

Result<Json> normalizePlan(const Json& input, bool webSearchAllowed) {
  if (!input.is_object()) return invalidArgumentError("plan_content arguments are not an object");
  Json plan = input;
  std::string intent = plan.value("intent", "");
  if (intent != "create" && intent != "chat") {
    return invalidArgumentError("plan_content intent must be \"create\" or \"chat\", not \"" + intent + "\"");
  }
  if (!plan.contains("reasoning") || !plan["reasoning"].is_string()) plan["reasoning"] = "";
  if (intent == "create") {
    std::string type = plan.value("contentType", "");
    if (std::find(kContentTypes.begin(), kContentTypes.end(), type) == kContentTypes.end()) {
      return invalidArgumentError("plan_content contentType must be email, ad, landing-page or script, not \"" + type + "\"");
    }
    for (const char* key : {"objective", "topic", "targetAudience", "tone", "knowledgeQuery", "webQuery"}) {
      if (!plan.contains(key) || !plan[key].is_string()) plan[key] = "";
    }
  }
  plan["webResearch"] = webSearchAllowed && intent == "create" && plan.value("webResearch", false) == true;
  return plan;
}

IntentNode::IntentNode(IntentConfig config, std::shared_ptr<ModelCatalogue> models)
    : config_(std::move(config)), models_(std::move(models)) {}

std::string IntentNode::modelFor(const Json& state) const {
  return common::modelForTier(state, config_.preferenceChannel, config_.tier, config_.model, *models_);
}

void IntentNode::run(std::shared_ptr<NodeContext> context, NodeDone done) {
  std::string model = modelFor(*context->state);
  if (model.empty()) return done(failedPreconditionError("no model configured for tier " + std::to_string(config_.tier)));
  ChatRequest request;
  request.maxTokens = config_.maxTokens;
  request.userId = context->userId;
  if (!config_.systemPrompt.empty()) request.system.push_back(ContentBlock::makeText(config_.systemPrompt));
  request.tools.push_back(planTool());
  common::addConversation(*context->state, config_.messagesChannel, config_.summaryChannel, request);
  if (messageCount(request) == 0) {
    return done(failedPreconditionError("channel \"" + config_.messagesChannel + "\" has no messages for the model"));
  }
  auto observer = std::make_shared<IntentObserver>(context, config_, model, std::move(done));
  models_->chat(model, std::move(request), std::move(observer), context->cancel);
}

}  // namespace mx::marketer
