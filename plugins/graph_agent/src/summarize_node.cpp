#include <algorithm>

#include "agent_nodes.hpp"
#include "mx_common/conversation_window.hpp"
#include "mx_common/model_choice.hpp"

namespace mx::agent {

namespace {

bool isHumanTurn(const Json& message) {
  if (message.value("role", "") != "user") return false;
  const Json& content = memberOrNull(message, "content");
  if (content.is_string()) return !content.get_ref<const std::string&>().empty();
  if (!content.is_array()) return false;
  bool text = false;
  for (const auto& block : content) {
    if (block.value("type", "") == "tool_result") return false;
    text = text || (block.value("type", "") == "text" && !block.value("text", "").empty());
  }
  return text;
}

std::string clip(const std::string& text, size_t limit) {
  return text.size() <= limit ? text : text.substr(0, limit) + " […]";
}

// The older messages as plain text: who said what, which tools ran.
std::string transcript(const Json& messages, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    Message message = messageFromJson(messages[i]);
    std::string who = message.role == Role::User ? "User" : "Assistant";
    for (const auto& block : message.content) {
      if (block.type == BlockType::Text && !block.text.empty()) out += who + ": " + clip(block.text, 2000) + "\n";
      if (block.type == BlockType::ToolUse) out += "[" + who + " called " + block.name + " " + clip(block.input.dump(), 300) + "]\n";
      if (block.type == BlockType::ToolResult) out += "[tool result: " + clip(block.text, 600) + "]\n";
    }
  }
  return out;
}

class SummaryObserver final : public ChatObserver {
 public:
  SummaryObserver(std::shared_ptr<NodeContext> context, std::string model, std::string channel, size_t through, size_t summarised,
                  NodeDone done)
      : context_(std::move(context)), model_(std::move(model)), channel_(std::move(channel)), through_(through),
        summarised_(summarised), done_(std::move(done)) {}

  void onTextDelta(std::string_view text) override { text_.append(text); }

  void onComplete(const Status& status, ChatResponse response) override {
    if (context_->usage != nullptr) context_->usage->record(model_, response.usage, response.costUsd, status.isOk());
    if (status.code() == Code::Cancelled) return done_(status);
    if (!status.isOk() || text_.empty()) {
      // The turn goes on with the whole conversation; the next turn tries again.
      status_("error", "Could not summarise the earlier conversation: " + (status.isOk() ? "empty summary" : status.message()));
      return done_(Json::object());
    }
    status_("done", "Summarised " + std::to_string(summarised_) + " earlier messages to keep the context within the model's window");
    done_(Json{{channel_, {{"through", through_}, {"text", text_}}}});
  }

 private:
  void status_(const std::string& state, const std::string& text) {
    if (context_->events == nullptr) return;
    context_->events->emitJson("thinking", {{"type", "tool_status"}, {"content", text}, {"status", state}, {"node", context_->nodeName}});
  }

  std::shared_ptr<NodeContext> context_;
  std::string model_;
  std::string channel_;
  size_t through_;
  size_t summarised_;
  NodeDone done_;
  std::string text_;
};

}  // namespace

const char* const kSummarizePrompt =
    "Summarise the conversation below for the marketing assistant that will continue it. Keep what later turns need: "
    "the brand, products and offers, audiences, tone and compliance decisions, the content already created (type, "
    "purpose, key lines) and any open requests. Write plain prose, at most 300 words. If a previous summary is given, "
    "fold it in.";

SummarizeNode::SummarizeNode(SummarizeConfig config, std::shared_ptr<ModelCatalogue> models)
    : config_(std::move(config)), models_(std::move(models)) {}

int64_t SummarizeNode::budgetFor(const Json& state) const {
  if (config_.budgetTokens > 0) return config_.budgetTokens;
  std::string tier1;
  if (state.contains(config_.preferenceChannel) && state[config_.preferenceChannel].is_object()) {
    tier1 = state[config_.preferenceChannel].value("tier1", "");
  }
  const ModelInfo* model = tier1.empty() ? models_->defaultFor(1) : models_->find(tier1);
  // Half the window: room for the system prompt, tool schemas, tool results of this turn and the answer.
  return model != nullptr && model->contextWindow > 0 ? model->contextWindow / 2 : 100000;
}

std::string SummarizeNode::modelFor(const Json& state) const {
  return common::modelForTier(state, config_.preferenceChannel, config_.tier, config_.model, *models_);
}

size_t SummarizeNode::cutPoint(const Json& messages, size_t through) const {
  if (messages.size() <= config_.keepRecent) return 0;
  for (size_t i = messages.size() - config_.keepRecent; i > through; --i) {
    if (isHumanTurn(messages[i])) return i;
  }
  return 0;
}

void SummarizeNode::run(std::shared_ptr<NodeContext> context, NodeDone done) {
  const Json& state = *context->state;
  const Json& messages = arrayMember(state, config_.messagesChannel);
  const Json& summary = objectMember(state, config_.summaryChannel);
  size_t through = std::min(summary.value("through", size_t{0}), messages.is_array() ? messages.size() : size_t{0});
  std::string previous = summary.value("text", "");
  int64_t tokens = common::estimateTokens(messages, through) + static_cast<int64_t>(previous.size() / 4);
  if (tokens <= budgetFor(state)) return done(Json::object());
  size_t cut = cutPoint(messages, through);
  if (cut == 0) return done(Json::object());  // one long turn: nothing older to fold away
  std::string model = modelFor(state);
  if (model.empty()) return done(Json::object());
  ChatRequest request;
  request.maxTokens = config_.maxTokens;
  request.userId = context->userId;
  request.system.push_back(ContentBlock::makeText(config_.systemPrompt.empty() ? kSummarizePrompt : config_.systemPrompt));
  Message ask;
  ask.role = Role::User;
  ask.content.push_back(ContentBlock::makeText((previous.empty() ? "" : "Previous summary:\n" + previous + "\n\n") +
                                               "Conversation:\n" + transcript(messages, through, cut)));
  request.messages.push_back(std::move(ask));
  auto observer = std::make_shared<SummaryObserver>(context, model, config_.summaryChannel, cut, cut - through, std::move(done));
  models_->chat(model, std::move(request), std::move(observer), context->cancel);
}

}  // namespace mx::agent
