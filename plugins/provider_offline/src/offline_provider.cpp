#include "offline_provider.hpp"

#include "offline_planner.hpp"
#include "offline_writer.hpp"
#include "request_text.hpp"

namespace mx::offline {

std::vector<std::string> wordDeltas(const std::string& text, size_t words) {
  std::vector<std::string> deltas;
  std::string current;
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    current.push_back(text[i]);
    bool wordEnds = !std::isspace(static_cast<unsigned char>(text[i])) &&
                    (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])));
    if (wordEnds && ++count == words) {
      deltas.push_back(std::move(current));
      current.clear();
      count = 0;
    }
  }
  if (!current.empty()) deltas.push_back(std::move(current));
  return deltas;
}

namespace {

int64_t requestTokens(const ChatRequest& request) {
  int64_t tokens = 0;
  for (const auto& block : request.system) tokens += estimateTokens(block.text);
  for (const auto& tool : request.tools) tokens += estimateTokens(tool.description + tool.inputSchema.dump());
  for (const auto& message : request.messages) {
    for (const auto& block : message.content) tokens += estimateTokens(block.text + (block.input.is_null() ? "" : block.input.dump()));
  }
  return tokens;
}

std::string lastUserText(const ChatRequest& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role != Role::User) continue;
    std::string text;
    for (const auto& block : it->content) {
      if (block.type == BlockType::Text) text += block.text;
    }
    if (!text.empty()) return text;
  }
  return "";
}

// Streams one reply step by step on the scheduler.
class Reply final : public std::enable_shared_from_this<Reply> {
 public:
  Reply(std::vector<std::string> deltas, std::optional<ContentBlock> toolCall, ChatResponse response,
        std::shared_ptr<ChatObserver> observer, CancellationToken cancel, const OfflineConfig& config, Scheduler scheduler)
      : deltas_(std::move(deltas)), toolCall_(std::move(toolCall)), response_(std::move(response)),
        observer_(std::move(observer)), cancel_(std::move(cancel)), pace_(config.pace), scheduler_(std::move(scheduler)) {}

  void step() {
    if (cancel_.isCancelled()) {
      // Billed like a real stream: the output produced before the cancel.
      std::string streamed;
      for (size_t i = 0; i < next_; ++i) streamed += deltas_[i];
      response_.usage.outputTokens = estimateTokens(streamed);
      observer_->onComplete(cancelledError("cancelled after " + std::to_string(response_.streamedChars) +
                                           " characters were streamed"),
                            std::move(response_));
      return;
    }
    if (next_ < deltas_.size()) {
      const std::string& delta = deltas_[next_++];
      response_.streamedChars += static_cast<int64_t>(delta.size());
      observer_->onTextDelta(delta);
      scheduleNext(pace_);
      return;
    }
    if (toolCall_) {
      int index = static_cast<int>(response_.message.content.size()) - 1;
      observer_->onToolCallStart(index, toolCall_->id, toolCall_->name);
      observer_->onToolCallDelta(index, toolCall_->input.dump());
    }
    observer_->onComplete(Status::ok(), std::move(response_));
  }

  void scheduleNext(std::chrono::milliseconds delay) {
    if (!scheduler_) {
      step();
      return;
    }
    auto self = shared_from_this();
    scheduler_(delay, [self] { self->step(); });
  }

 private:
  std::vector<std::string> deltas_;
  std::optional<ContentBlock> toolCall_;
  ChatResponse response_;
  std::shared_ptr<ChatObserver> observer_;
  CancellationToken cancel_;
  std::chrono::milliseconds pace_;
  Scheduler scheduler_;
  size_t next_ = 0;
};

}  // namespace

OfflineProvider::OfflineProvider(OfflineConfig config, Scheduler scheduler)
    : config_(config), scheduler_(std::move(scheduler)) {}

void OfflineProvider::chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) {
  // The planner reads typed messages; a lent conversation is copied once (the offline model is no hot path).
  if (!request.conversation.empty()) {
    request.messages = allMessages(request);
    request.conversation = {};
  }
  std::string text;
  std::optional<ContentBlock> toolCall;
  // Tier 1 is offered tools, or answers at the end of a conversation whose
  // tools were run for it (the marketer graph's answer step); the Tier 2
  // writer gets one self-contained brief.
  bool toolsUsed = false;
  for (const auto& message : request.messages) {
    for (const auto& block : message.content) toolsUsed = toolsUsed || block.type == BlockType::ToolUse;
  }
  std::string instructions;
  for (const auto& block : request.system) instructions += block.text;
  if (instructions.rfind("Summarise the conversation", 0) == 0) {  // agent.summarize
    text = summarizeTranscript(lastUserText(request));
  } else if (!request.tools.empty() || toolsUsed) {
    PlannedTurn turn = planNextTurn(request);
    text = std::move(turn.text);
    toolCall = std::move(turn.toolCall);
  } else {
    text = writeArtifact(readBrief(lastUserText(request)));
  }
  ChatResponse response;
  response.id = "msg_offline";
  response.model = "offline";
  response.message.role = Role::Assistant;
  if (!text.empty()) response.message.content.push_back(ContentBlock::makeText(text));
  if (toolCall) response.message.content.push_back(*toolCall);
  response.stopReason = toolCall ? StopReason::ToolUse : StopReason::EndTurn;
  response.usage.inputTokens = requestTokens(request);
  response.usage.outputTokens = estimateTokens(text) + (toolCall ? estimateTokens(toolCall->input.dump()) : 0);
  auto reply = std::make_shared<Reply>(wordDeltas(text, config_.wordsPerDelta), std::move(toolCall), std::move(response),
                                       std::move(observer), std::move(cancel), config_, scheduler_);
  reply->scheduleNext(std::chrono::milliseconds(0));  // never call back inside chat()
}

}  // namespace mx::offline
