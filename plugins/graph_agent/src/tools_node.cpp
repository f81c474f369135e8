#include <atomic>
#include <chrono>
#include <mutex>
#include <set>

#include "agent_nodes.hpp"
#include "mx/json_text.hpp"
#include "json_schema.hpp"

namespace mx::agent {

ToolsNode::ToolsNode(ToolsNodeConfig config, std::vector<std::shared_ptr<Tool>> tools, Timer timer)
    : config_(std::move(config)), deadlines_(timer ? CallDeadlines::create(config_.timeout, std::move(timer)) : nullptr) {
  for (auto& tool : tools) {
    ToolDefinition definition = tool->definition();
    definitions_[definition.name] = definition;
    tools_[definition.name] = std::move(tool);
  }
}

Json summarizeResults(const std::string& type, const Json& result) {
  Json sources = Json::array();
  const Json& results = arrayMember(result, "results");
  for (const auto& r : results) {
    Json source = {{"title", r.value("title", "")}};
    if (r.contains("resourceId")) source["resourceId"] = r["resourceId"];
    if (r.contains("url")) source["url"] = r["url"];
    sources.push_back(std::move(source));
  }
  std::string content = results.empty() ? "Nothing relevant found." : "Found " + std::to_string(results.size()) + " relevant " +
                                                                         (results.size() == 1 ? "source" : "sources") + ":";
  std::set<std::string> titles;
  for (const auto& s : sources) {
    std::string title = s.value("title", "");
    if (!title.empty() && titles.insert(title).second) content += (titles.size() == 1 ? " " : ", ") + title;
  }
  if (result.is_object() && result.contains("answer") && result["answer"].is_string()) content += ". " + result["answer"].get<std::string>();
  return {{"type", type}, {"content", content}, {"count", results.size()}, {"sources", sources}};
}

namespace {

std::string resultText(const Json& result) { return result.is_string() ? result.get<std::string>() : jsonText(result); }

// Collects the results of one step's tool calls and answers once all are in.
class Batch final : public std::enable_shared_from_this<Batch> {
 public:
  Batch(std::vector<ContentBlock> calls, std::shared_ptr<NodeContext> context, std::string channel, bool emitStatus,
        NodeDone done)
      : calls_(std::move(calls)), results_(calls_.size()), context_(std::move(context)), channel_(std::move(channel)),
        emitStatus_(emitStatus), done_(std::move(done)), remaining_(calls_.size()) {}

  const std::vector<ContentBlock>& calls() const { return calls_; }
  const std::shared_ptr<NodeContext>& context() const { return context_; }

  // {"type":"tool_status","content","tool","status","durationMs"} written as the text a Json of
  // them dumps to (keys in order), without the tree: ten per turn were 2 % of the server's instructions.
  void status(const std::string& tool, const std::string& state, const std::string& text, double ms = -1) {
    if (!emitStatus_ || context_->events == nullptr) return;
    std::string data = "{\"content\":";
    appendJsonString(data, text);
    if (ms >= 0) {
      data += ",\"durationMs\":";
      appendJson(data, Json(ms));
    }
    data += ",\"status\":";
    appendJsonString(data, state);
    data += ",\"tool\":";
    appendJsonString(data, tool);
    data += ",\"type\":\"tool_status\"}";
    context_->events->emit("thinking", std::move(data));
  }

  void finish(size_t index, ContentBlock result) {
    bool last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      results_[index] = std::move(result);
      last = --remaining_ == 0;
    }
    if (!last) return;
    if (context_->cancel.isCancelled()) {
      done_(cancelledError("run cancelled while tools were running"));
      return;
    }
    Message message;
    message.role = Role::User;
    message.content = std::move(results_);
    done_(Json{{channel_, Json::array({toJson(std::move(message))})}});
  }

 private:
  std::vector<ContentBlock> calls_;
  std::vector<ContentBlock> results_;
  std::shared_ptr<NodeContext> context_;
  std::string channel_;
  bool emitStatus_;
  NodeDone done_;
  std::mutex mutex_;
  size_t remaining_;
};

// A tool call that has not answered: what its answer or its timeout completes.
struct PendingCall {
  std::function<void(Result<Json>)> complete;
  std::shared_ptr<CancellationSource> source;
  std::string timeoutMessage;
  CallDeadlines::Ticket deadline = 0;
};

}  // namespace

void ToolsNode::run(std::shared_ptr<NodeContext> context, NodeDone done) {
  const Json& state = *context->state;
  const Json& messages = memberOrNull(state, config_.messagesChannel);
  std::vector<ContentBlock> calls;
  if (messages.is_array() && !messages.empty()) {
    for (auto& block : messageFromJson(messages.back()).content) {
      if (block.type == BlockType::ToolUse) calls.push_back(std::move(block));
    }
  }
  if (calls.empty()) {
    done(Json::object());
    return;
  }
  auto batch = std::make_shared<Batch>(std::move(calls), context, config_.messagesChannel, config_.emitStatus, std::move(done));
  for (size_t i = 0; i < batch->calls().size(); ++i) {
    const ContentBlock& call = batch->calls()[i];
    auto tool = tools_.find(call.name);
    if (tool == tools_.end()) {
      batch->finish(i, ContentBlock::makeToolResult(call.id, "Error: unknown tool \"" + call.name + "\"", true));
      continue;
    }
    auto problems = validateAgainstSchema(call.input, definitions_[call.name].inputSchema);
    if (!problems.empty()) {
      std::string text = "Error: invalid arguments for " + call.name + ":";
      for (const auto& p : problems) text += " " + p + ";";
      batch->status(call.name, "error", "Invalid arguments for " + call.name);
      batch->finish(i, ContentBlock::makeToolResult(call.id, text, true));
      continue;
    }
    // Each call gets its own cancellation: the run's, or its timeout, whichever comes first.
    auto source = std::make_shared<CancellationSource>();
    auto linked = std::make_shared<Subscription>(context->cancel.onCancel([source] { source->cancel("run cancelled"); }));
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto started = std::chrono::steady_clock::now();
    std::string name = call.name;
    std::string id = call.id;
    auto analysis = config_.analysis.find(name);
    std::string analysisType = analysis == config_.analysis.end() ? "" : analysis->second;
    auto complete = [batch, i, id, name, answered, started, linked, source, analysisType](Result<Json> result) {
      if (answered->exchange(true)) return;
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      if (result.isOk()) {
        batch->status(name, "done", name + " finished", ms);
        if (!analysisType.empty() && batch->context()->events != nullptr) {
          batch->context()->events->emitJson("analysis", summarizeResults(analysisType, *result));
        }
        batch->finish(i, ContentBlock::makeToolResult(id, resultText(*result), false));
      } else {
        batch->status(name, "error", name + " failed: " + result.status().message(), ms);
        batch->finish(i, ContentBlock::makeToolResult(id, "Error: " + result.status().toString(), true));
      }
    };
    auto pending = std::make_shared<PendingCall>(
        PendingCall{std::move(complete), source, name + " timed out after " + std::to_string(config_.timeout.count()) + " ms"});
    if (deadlines_) {  // the deadline holds the call weakly: the tool's answer owns it
      pending->deadline = deadlines_->start([weakCall = std::weak_ptr<PendingCall>(pending)] {
        if (auto unanswered = weakCall.lock()) {
          unanswered->source->cancel("timeout");
          unanswered->complete(deadlineExceededError(unanswered->timeoutMessage));
        }
      });
    }
    auto toolContext = std::make_shared<ToolContext>();
    toolContext->userId = context->userId;
    toolContext->runId = context->runId;
    toolContext->threadId = context->threadId;
    toolContext->events = context->events;
    toolContext->usage = context->usage;
    toolContext->state = context->state;
    toolContext->cancel = source->token();
    batch->status(name, "running", "Running " + name + "...");
    tool->second->invoke(call.input, toolContext, [pending, deadlines = deadlines_](Result<Json> result) {
      if (deadlines) deadlines->stop(pending->deadline);
      pending->complete(std::move(result));
    });
  }
}

}  // namespace mx::agent
