#include "openai_stream.hpp"

#include "mx_common/retry.hpp"
#include "mx/json_parse.hpp"

namespace mx::openai {

Code codeForError(int httpStatus, const Json& error) {
  std::string code = error.is_object() && error.contains("code") && error["code"].is_string() ? error["code"].get<std::string>() : "";
  std::string type = error.is_object() ? error.value("type", "") : "";
  if (code == "insufficient_quota" || type == "insufficient_quota") return Code::ResourceExhausted;
  if (code == "invalid_api_key") return Code::Unauthenticated;
  if (code == "model_not_found") return Code::NotFound;
  if (code == "rate_limit_exceeded") return Code::ResourceExhausted;
  if (httpStatus > 0) return codeForHttpStatus(httpStatus);
  if (type == "server_error") return Code::Unavailable;
  if (type == "invalid_request_error") return Code::InvalidArgument;
  return Code::Unavailable;
}

namespace {

StopReason stopReasonFrom(const std::string& reason) {
  if (reason == "stop") return StopReason::EndTurn;
  if (reason == "length") return StopReason::MaxTokens;
  if (reason == "tool_calls" || reason == "function_call") return StopReason::ToolUse;
  if (reason == "content_filter") return StopReason::Refusal;
  return StopReason::Other;
}

}  // namespace

void ChatStreamAccumulator::onEvent(const SseEvent& event) {
  if (done_ || !failure_.isOk()) return;
  if (event.data == "[DONE]") {
    done_ = true;
    return;
  }
  Json chunk = parseJson(event.data);
  if (chunk.is_discarded() || !chunk.is_object()) {
    failure_ = unavailableError("malformed stream chunk: not a JSON object");
    return;
  }
  try {
    onChunk(chunk);
  } catch (const std::exception& e) {
    failure_ = unavailableError(std::string("malformed stream chunk: ") + e.what());
  }
}

void ChatStreamAccumulator::onChunk(const Json& chunk) {
  if (chunk.contains("error") && !chunk["error"].is_null()) {
    const Json& error = chunk["error"];
    std::string message = error.is_object() ? error.value("message", "") : error.dump();
    failure_ = Status(codeForError(0, error), "openai stream error: " + message);
    return;
  }
  if (response_.id.empty()) response_.id = chunk.value("id", "");
  if (response_.model.empty()) response_.model = chunk.value("model", "");
  if (chunk.contains("choices") && chunk["choices"].is_array()) {
    for (const auto& choice : chunk["choices"]) {
      if (choice.value("index", 0) != 0) continue;  // n > 1 is never requested
      if (choice.contains("delta") && choice["delta"].is_object()) onDelta(choice["delta"]);
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        response_.stopReason = stopReasonFrom(choice["finish_reason"]);
      }
    }
  }
  if (chunk.contains("usage") && chunk["usage"].is_object()) onUsage(chunk["usage"]);
}

void ChatStreamAccumulator::onDelta(const Json& delta) {
  if (delta.contains("content") && delta["content"].is_string()) {
    const auto& text = delta["content"].get_ref<const std::string&>();
    if (!text.empty()) {
      text_ += text;
      response_.streamedChars += static_cast<int64_t>(text.size());
      observer_->onTextDelta(text);
      emitted_ = true;
    }
  }
  if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
    for (const auto& fragment : delta["tool_calls"]) {
      int index = fragment.value("index", 0);
      auto [it, isNew] = toolCalls_.try_emplace(index);
      ToolCallBuilder& call = it->second;
      if (fragment.contains("id") && fragment["id"].is_string()) call.id = fragment["id"];
      const Json& function = objectMember(fragment, "function");
      if (function.contains("name") && function["name"].is_string()) call.name += function["name"].get<std::string>();
      if (isNew) {
        observer_->onToolCallStart(index, call.id, call.name);
        emitted_ = true;
      }
      if (function.contains("arguments") && function["arguments"].is_string()) {
        const auto& piece = function["arguments"].get_ref<const std::string&>();
        call.arguments += piece;
        if (!piece.empty()) observer_->onToolCallDelta(index, piece);
      }
    }
  }
}

// prompt_tokens includes cached_tokens; our Usage counts uncached input apart,
// as Anthropic's does, so that one price table prices both.
void ChatStreamAccumulator::onUsage(const Json& usage) {
  int64_t prompt = usage.value("prompt_tokens", int64_t{0});
  int64_t cached = 0;
  if (usage.contains("prompt_tokens_details") && usage["prompt_tokens_details"].is_object()) {
    cached = usage["prompt_tokens_details"].value("cached_tokens", int64_t{0});
  }
  response_.usage.inputTokens = prompt - cached;
  response_.usage.cacheReadTokens = cached;
  response_.usage.outputTokens = usage.value("completion_tokens", int64_t{0});
}

ChatResponse ChatStreamAccumulator::takeResponse() {
  response_.message.role = Role::Assistant;
  response_.message.content.clear();
  if (!text_.empty()) response_.message.content.push_back(ContentBlock::makeText(std::move(text_)));
  for (auto& [index, call] : toolCalls_) {
    Json input = call.arguments.empty() ? Json::object() : parseJson(call.arguments);
    if (!input.is_object()) input = Json{{"_incomplete_json", call.arguments}};
    response_.message.content.push_back(ContentBlock::makeToolUse(std::move(call.id), std::move(call.name), std::move(input)));
  }
  text_.clear();
  toolCalls_.clear();  // moved into the response: not held twice while it is used
  return std::move(response_);
}

}  // namespace mx::openai
