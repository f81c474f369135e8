// mx/model.hpp — the model-provider interface (Tier 1 orchestrator and Tier 2 writer).
//
// What: one streaming chat call with system blocks, messages made of content
// blocks (text, tool_use, tool_result, thinking), tool definitions, max tokens,
// temperature, stop sequences, prompt-caching hints and optional extended
// thinking. Deltas are reported to a `ChatObserver` as they arrive; the call ends
// with exactly one `onComplete`, carrying the final (or, on failure, partial)
// message and the usage counted so far.
// Thread-safety: `chat` may be called concurrently from any thread. Observer
// callbacks for one call are serialised (never concurrent with each other) but
// may run on a provider-owned I/O thread.
// Ownership: the provider keeps the observer alive (shared_ptr) until
// onComplete has returned. Strings passed to delta callbacks are valid only
// during the callback. A request's `conversation` (SDK ABI 3.0) is borrowed
// from its caller: valid and unchanged until the call completes.
// Blocking: `chat` returns at once; no thread is held while the model streams.
// Observer callbacks must not block (they run on the provider's I/O loop).
// Cancellation: cancelling the token aborts the HTTP transfer promptly and ends
// the call with Code::Cancelled and the partial response.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mx/cancel.hpp"
#include "mx/component.hpp"
#include "mx/json.hpp"
#include "mx/status.hpp"

namespace mx {

enum class Role { User, Assistant };

enum class BlockType { Text, ToolUse, ToolResult, Thinking };

struct ContentBlock {
  BlockType type = BlockType::Text;
  std::string text;       // Text; Thinking (the thinking text); ToolResult (its content)
  std::string id;         // ToolUse: the call id; ToolResult: the tool_use_id it answers
  std::string name;       // ToolUse: the tool name
  Json input;             // ToolUse: the arguments (an object)
  bool isError = false;   // ToolResult: the tool failed
  std::string signature;  // Thinking: the provider's signature, sent back unchanged
  bool cacheBreakpoint = false;  // request a prompt-cache breakpoint after this block

  static ContentBlock makeText(std::string text) {
    ContentBlock b;
    b.text = std::move(text);
    return b;
  }
  static ContentBlock makeToolUse(std::string id, std::string name, Json input) {
    ContentBlock b;
    b.type = BlockType::ToolUse;
    b.id = std::move(id);
    b.name = std::move(name);
    b.input = std::move(input);
    return b;
  }
  static ContentBlock makeToolResult(std::string toolUseId, std::string content, bool isError) {
    ContentBlock b;
    b.type = BlockType::ToolResult;
    b.id = std::move(toolUseId);
    b.text = std::move(content);
    b.isError = isError;
    return b;
  }
};

struct Message {
  Role role = Role::User;
  std::vector<ContentBlock> content;
};

// Messages as JSON (the shape graph state and stores keep them in, close to
// the Anthropic format): {"role":"user"|"assistant","content":[{"type":"text",
// "text"},{"type":"tool_use","id","name","input"},{"type":"tool_result",
// "tool_use_id","content","is_error"},{"type":"thinking","thinking","signature"}]}.
// From an rvalue the texts and inputs are moved, not copied (a model's answer
// into the state: built member by member, not from an initializer list).
inline Json toJson(ContentBlock&& block) {
  Json out = Json::object();
  switch (block.type) {
    case BlockType::Text:
      out["type"] = "text";
      out["text"] = std::move(block.text);
      break;
    case BlockType::ToolUse:
      out["type"] = "tool_use";
      out["id"] = std::move(block.id);
      out["name"] = std::move(block.name);
      out["input"] = std::move(block.input);
      break;
    case BlockType::ToolResult:
      out["type"] = "tool_result";
      out["tool_use_id"] = std::move(block.id);
      out["content"] = std::move(block.text);
      out["is_error"] = block.isError;
      break;
    case BlockType::Thinking:
      out["type"] = "thinking";
      out["thinking"] = std::move(block.text);
      out["signature"] = std::move(block.signature);
      break;
  }
  return out;
}

inline Json toJson(const ContentBlock& block) { return toJson(ContentBlock(block)); }

inline Json toJson(Message&& message) {
  Json content = Json::array();
  content.get_ref<Json::array_t&>().reserve(message.content.size());
  for (auto& block : message.content) content.push_back(toJson(std::move(block)));
  Json out = Json::object();
  out["role"] = message.role == Role::User ? "user" : "assistant";
  out["content"] = std::move(content);
  return out;
}

inline Json toJson(const Message& message) { return toJson(Message(message)); }

// A member's string, or `fallback` when `object` has no such member or it is not
// a string: by reference, found once (`value(key, "")` copies the string, and
// a `contains` then `[]` looks the key up twice).
inline const std::string& stringMemberOr(const Json& object, std::string_view key, const std::string& fallback) {
  const Json& member = memberOrNull(object, key);
  return member.is_string() ? member.get_ref<const std::string&>() : fallback;
}

namespace model_detail {
inline const std::string& noText() {
  static const std::string empty;
  return empty;
}

// A block of a type it does not know is skipped (lenient).
inline void appendBlockFromJson(const Json& b, std::vector<ContentBlock>& out) {
  const std::string& type = stringMemberOr(b, "type", noText());
  if (type == "text") {
    out.push_back(ContentBlock::makeText(stringMemberOr(b, "text", noText())));
  } else if (type == "tool_use") {
    const Json& input = memberOrNull(b, "input");
    out.push_back(ContentBlock::makeToolUse(stringMemberOr(b, "id", noText()), stringMemberOr(b, "name", noText()),
                                            input.is_null() ? Json::object() : input));
  } else if (type == "tool_result") {
    const Json& content = memberOrNull(b, "content");
    const Json& isError = memberOrNull(b, "is_error");
    out.push_back(ContentBlock::makeToolResult(stringMemberOr(b, "tool_use_id", noText()),
                                               content.is_string()  ? content.get<std::string>()
                                               : content.is_null()  ? std::string()
                                                                    : content.dump(),
                                               isError.is_boolean() && isError.get<bool>()));
  } else if (type == "thinking") {
    ContentBlock thinking;
    thinking.type = BlockType::Thinking;
    thinking.text = stringMemberOr(b, "thinking", noText());
    thinking.signature = stringMemberOr(b, "signature", noText());
    out.push_back(std::move(thinking));
  }
}
}  // namespace model_detail

// A JSON message's role: "assistant", else user.
inline Role roleOfJson(const Json& message) {
  return stringMemberOr(message, "role", model_detail::noText()) == "assistant" ? Role::Assistant : Role::User;
}

// Lenient: unknown block types are skipped; a string content is one text block;
// a member of the wrong type reads as absent.
inline Message messageFromJson(const Json& json) {
  Message message;
  message.role = roleOfJson(json);
  const Json& content = memberOrNull(json, "content");
  if (content.is_string()) {
    message.content.push_back(ContentBlock::makeText(content.get<std::string>()));
    return message;
  }
  if (!content.is_array()) return message;
  message.content.reserve(content.size());
  for (const auto& b : content) model_detail::appendBlockFromJson(b, message.content);
  return message;
}

struct ToolDefinition {
  std::string name;
  std::string description;
  Json inputSchema;  // JSON Schema of the arguments object
};

// The tools offered in a request (SDK ABI 2.0): an immutable list that every
// copy shares, so a node that offers the same tools on every call builds the
// list once and a request costs a reference count, not a copy of the schemas.
// Reads as a const vector; push_back builds a new list (the others keep theirs).
// Thread-safety: as a value; the shared list is never changed after it is built.
class ToolSet {
 public:
  ToolSet() = default;
  ToolSet(std::vector<ToolDefinition> tools)  // NOLINT(google-explicit-constructor): a list of tools is a tool set
      : tools_(tools.empty() ? nullptr : std::make_shared<const std::vector<ToolDefinition>>(std::move(tools))) {}
  ToolSet(std::initializer_list<ToolDefinition> tools) : ToolSet(std::vector<ToolDefinition>(tools)) {}

  bool empty() const { return tools_ == nullptr; }
  size_t size() const { return tools_ ? tools_->size() : 0; }
  const ToolDefinition* begin() const { return tools_ ? tools_->data() : nullptr; }
  const ToolDefinition* end() const { return tools_ ? tools_->data() + tools_->size() : nullptr; }
  const ToolDefinition& operator[](size_t i) const { return (*tools_)[i]; }
  const ToolDefinition& at(size_t i) const { return list().at(i); }
  const ToolDefinition& front() const { return (*tools_).front(); }
  const ToolDefinition& back() const { return (*tools_).back(); }
  // The same list (not equal contents): a provider may cache what it made of it.
  const void* identity() const { return tools_.get(); }
  std::shared_ptr<const std::vector<ToolDefinition>> shared() const { return tools_; }

  void push_back(ToolDefinition tool) {
    std::vector<ToolDefinition> next = tools_ ? *tools_ : std::vector<ToolDefinition>();
    next.push_back(std::move(tool));
    tools_ = std::make_shared<const std::vector<ToolDefinition>>(std::move(next));
  }

 private:
  const std::vector<ToolDefinition>& list() const {
    static const std::vector<ToolDefinition> none;
    return tools_ ? *tools_ : none;
  }
  std::shared_ptr<const std::vector<ToolDefinition>> tools_;  // null when empty
};

enum class CacheTtl { FiveMinutes, OneHour };

// Messages a caller lends instead of copying (SDK ABI 3.0): a JSON array in
// the shape above (a graph state's messages channel), sent from index `from`
// on, before ChatRequest::messages. A model call used to copy every message of
// the conversation into Message values only to write them out again.
// Ownership: borrowed; the array must stay alive and unchanged until the call
// completes (NodeContext::state has that contract, and a node's call ends
// before its step does). A provider that keeps a request after onComplete
// must not read it.
struct BorrowedMessages {
  const Json* array = nullptr;  // null, or not an array: none
  size_t from = 0;

  size_t size() const { return array != nullptr && array->is_array() && from < array->size() ? array->size() - from : 0; }
  bool empty() const { return size() == 0; }
  const Json& operator[](size_t i) const { return (*array)[from + i]; }
};

struct ChatRequest {
  std::string model;                  // the provider's model id
  std::vector<ContentBlock> system;   // text blocks
  BorrowedMessages conversation;      // sent first (ABI 3.0); see messageCount and forEachMessage
  std::vector<Message> messages;      // sent after the conversation
  ToolSet tools;                      // shared, never copied per call
  int maxTokens = 1024;
  std::optional<double> temperature;
  std::vector<std::string> stopSequences;
  std::optional<int> thinkingBudgetTokens;  // extended thinking when set
  bool cacheSystemAndTools = true;          // prompt caching of the stable prefix
  CacheTtl cacheTtl = CacheTtl::FiveMinutes;
  std::string userId;                       // for provider-side abuse tracking
};

// Every message of a request, the borrowed conversation's and then `messages`.
inline size_t messageCount(const ChatRequest& request) { return request.conversation.size() + request.messages.size(); }

// Calls `visit(const Message&)` for each message in order; a borrowed one is
// made a Message just for its call (a provider that writes typed messages;
// one that writes JSON reads request.conversation in place).
template <class Visit>
void forEachMessage(const ChatRequest& request, Visit&& visit) {
  for (size_t i = 0; i < request.conversation.size(); ++i) visit(messageFromJson(request.conversation[i]));
  for (const auto& message : request.messages) visit(message);
}

// The same as values (a copy of the conversation: for providers and tests
// off the hot path).
inline std::vector<Message> allMessages(const ChatRequest& request) {
  std::vector<Message> out;
  out.reserve(messageCount(request));
  for (size_t i = 0; i < request.conversation.size(); ++i) out.push_back(messageFromJson(request.conversation[i]));
  out.insert(out.end(), request.messages.begin(), request.messages.end());
  return out;
}

struct Usage {
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t cacheWrite5mTokens = 0;
  int64_t cacheWrite1hTokens = 0;
  int64_t cacheReadTokens = 0;

  int64_t cacheWriteTokens() const { return cacheWrite5mTokens + cacheWrite1hTokens; }

  Usage& operator+=(const Usage& more) {
    inputTokens += more.inputTokens;
    outputTokens += more.outputTokens;
    cacheWrite5mTokens += more.cacheWrite5mTokens;
    cacheWrite1hTokens += more.cacheWrite1hTokens;
    cacheReadTokens += more.cacheReadTokens;
    return *this;
  }
};

enum class StopReason { None, EndTurn, MaxTokens, StopSequence, ToolUse, Refusal, PauseTurn, Other };

struct ChatResponse {
  std::string id;
  std::string model;         // as reported by the provider ("offline" for the offline provider)
  Message message;           // role Assistant; partial when the call failed
  StopReason stopReason = StopReason::None;
  std::string stopSequence;
  Usage usage;               // counted so far, also on failure
  int64_t streamedChars = 0; // text streamed before completion or failure
  double costUsd = 0;        // set by the model catalogue: this call, fallbacks included
};

class ChatObserver {
 public:
  virtual ~ChatObserver() = default;
  virtual void onTextDelta(std::string_view /*text*/) {}
  virtual void onThinkingDelta(std::string_view /*text*/) {}
  virtual void onToolCallStart(int /*index*/, std::string_view /*id*/, std::string_view /*name*/) {}
  virtual void onToolCallDelta(int /*index*/, std::string_view /*partialJson*/) {}
  // Exactly once per call. `status` is OK on success; otherwise `response`
  // holds what was received before the failure.
  virtual void onComplete(const Status& status, ChatResponse response) = 0;
};

class ModelProvider : public Component {
 public:
  // A short identifier of the provider kind ("anthropic", "openai", "offline").
  virtual std::string providerName() const = 0;
  virtual void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer,
                    CancellationToken cancel) = 0;
};

// SDK ABI 1.5, optional beside ModelProvider (the host finds it with
// dynamic_cast, as RunRecordStore): a provider that only reads the request
// takes it shared. The host keeps a request for a fallback model until the
// first words arrive; shared with the provider, it is not copied (a whole
// conversation and its tool schemas) on every call. The same contract as
// chat(); the provider must not change the request and may keep the pointer
// only while it needs it.
class SharedRequestChat {
 public:
  virtual ~SharedRequestChat() = default;
  virtual void chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                          CancellationToken cancel) = 0;
};

// Makes a call's request again (SDK 2.1): from what its caller keeps anyway,
// so that nobody keeps the request itself while the model has not answered.
using ChatRequestBuilder = std::function<ChatRequest()>;

// SDK ABI 2.1, optional beside ModelProvider (found with dynamic_cast, as
// SharedRequestChat): a provider that, instead of keeping its request body
// for retries until the first words, keeps `build` and writes the body again
// for a retry. The host passes it when the caller of the catalogue gave it a
// builder (ModelCatalogue::chatRebuilding), with the provider's model id
// already set. `build` runs once before this returns; again, on the
// provider's I/O thread, for each retry (it must not block, and may throw:
// the call then completes with an Internal error). The same contract as chat().
class RebuildingChat {
 public:
  virtual ~RebuildingChat() = default;
  virtual void chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) = 0;
};

// Prices in USD per million tokens.
struct ModelPrices {
  double input = 0;
  double output = 0;
  double cacheWrite5m = 0;
  double cacheWrite1h = 0;
  double cacheRead = 0;
};

// One entry of the deployment's model catalogue ([models.<id>] in TOML).
struct ModelInfo {
  std::string id;             // what clients choose ("claude-sonnet-4-5")
  std::string displayName;
  std::string provider;       // the [providers.<name>] instance that serves it
  std::string providerKind;   // "anthropic", "openai", "offline"
  std::string providerModel;  // the id sent to the provider
  std::vector<int> tiers;     // 1 = orchestrator, 2 = writer
  int64_t contextWindow = 0;
  int64_t maxOutputTokens = 0;
  ModelPrices prices;
  std::string fallback;       // another catalogue id tried when this one fails before streaming
  std::vector<int> defaultFor;  // tiers this model is the default of
};

// The deployment's model catalogue: lookup, cost, and calls by catalogue id
// (the request's `model` is replaced by the provider's id; on a failure before
// anything was streamed, the entry's fallback model is tried).
// Thread-safety: every method may be called concurrently.
// Blocking: never; `chat` has ModelProvider::chat's contract.
class ModelCatalogue {
 public:
  virtual ~ModelCatalogue() = default;
  virtual std::vector<ModelInfo> list() const = 0;
  virtual const ModelInfo* find(std::string_view id) const = 0;
  virtual const ModelInfo* defaultFor(int tier) const = 0;
  virtual double costUsd(const ModelInfo& model, const Usage& usage) const = 0;
  virtual void chat(std::string_view modelId, ChatRequest request, std::shared_ptr<ChatObserver> observer,
                    CancellationToken cancel) = 0;

  // `chat` for a request its caller can make again from what it keeps anyway
  // (a graph node's state): the catalogue keeps `build`, not the request, for
  // the fallback model, and hands it to a provider that writes its request
  // again for a retry (RebuildingChat) instead of keeping the body. A kept
  // request is a copy of the conversation for as long as the model has not
  // answered. `build` runs once before this returns, and again, on the
  // provider's I/O thread, for a retry or a fallback model: it may read only
  // what stays unchanged until the call completes, and must not block. (SDK
  // 2.1; the default builds once and calls `chat`.)
  using RequestBuilder = ChatRequestBuilder;
  virtual void chatRebuilding(std::string_view modelId, RequestBuilder build, std::shared_ptr<ChatObserver> observer,
                              CancellationToken cancel) {
    chat(modelId, build(), std::move(observer), std::move(cancel));
  }
};

}  // namespace mx
