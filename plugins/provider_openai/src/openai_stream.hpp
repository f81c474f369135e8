// Turns Chat Completions stream chunks into observer deltas and a ChatResponse:
// content deltas, tool_calls fragments reassembled by index (parallel calls),
// finish_reason, the include_usage chunk (empty choices) with cached tokens,
// the [DONE] sentinel, and `{"error":...}` chunks sent after a 200.
// Not thread-safe: one per stream attempt. Never blocks.
#pragma once

#include <map>
#include <string>

#include "mx/http.hpp"
#include "mx/model.hpp"

namespace mx::openai {

class ChatStreamAccumulator {
 public:
  explicit ChatStreamAccumulator(ChatObserver* observer) : observer_(observer) {}

  void onEvent(const SseEvent& event);

  bool finished() const { return done_; }            // [DONE] seen
  const Status& failure() const { return failure_; }
  bool emittedDeltas() const { return emitted_; }
  const ChatResponse& response() const { return response_; }
  // The final (or partial) response; once: the text and calls move into it.
  ChatResponse takeResponse();

 private:
  struct ToolCallBuilder {
    std::string id;
    std::string name;
    std::string arguments;
  };
  void onChunk(const Json& chunk);
  void onDelta(const Json& delta);
  void onUsage(const Json& usage);

  ChatObserver* observer_;
  ChatResponse response_;
  std::string text_;
  std::map<int, ToolCallBuilder> toolCalls_;
  bool done_ = false;
  bool emitted_ = false;
  Status failure_;
};

// Canonical code of an OpenAI error body ({"error":{"type","code",...}}).
Code codeForError(int httpStatus, const Json& error);

}  // namespace mx::openai
