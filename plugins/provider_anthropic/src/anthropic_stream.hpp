// Turns the Messages API's streamed events into deltas for a ChatObserver and
// an accumulated ChatResponse: text, tool_use (input_json_delta concatenated and
// parsed at content_block_stop), thinking (+ signature), cumulative usage with
// the 5-minute / 1-hour cache-write split, stop reason. `ping` and unknown
// event, block and delta types are ignored; `event: error` (also after a 200)
// becomes a failure with the canonical code of its error type.
// Not thread-safe: one accumulator per stream attempt. Never blocks.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "mx/http.hpp"
#include "mx/model.hpp"

namespace mx::anthropic {

// The hot path, one per token: a `content_block_delta` with a `text_delta`
// in the API's exact layout ({"type":"content_block_delta","index":N,
// "delta":{"type":"text_delta","text":"..."}}) read without building a JSON
// tree. False for anything else (other layouts take the general parser).
bool parseTextDelta(std::string_view data, int& index, std::string& text);
// The same for a tool call's arguments ({"type":"input_json_delta","partial_json":"..."}),
// and {"type":"content_block_stop","index":N}: the other events of every block.
bool parseToolInputDelta(std::string_view data, int& index, std::string& partialJson);
bool parseBlockStop(std::string_view data, int& index);
// And the few events of each call around them, in the API's layout (padding
// before the last brace allowed): a text block's start ({"type":
// "content_block_start","index":N,"content_block":{"type":"text","text":""}}),
// the stop reason with the output tokens ({"type":"message_delta","delta":
// {"stop_reason":"...","stop_sequence":null},"usage":{"output_tokens":N}}) and
// {"type":"message_stop"}. Read as JSON trees, they and message_start were
// 3.5 % of the server's instructions per turn (callgrind, fast C = 20).
bool parseTextBlockStart(std::string_view data, int& index);
// A tool call's start: {"type":"content_block_start","index":N,"content_block":
// {"type":"tool_use","id":"…","name":"…","input":{}}} (with any other member,
// such as "caller", it takes the general parser).
bool parseToolUseBlockStart(std::string_view data, int& index, std::string& id, std::string& name);
bool parseMessageDelta(std::string_view data, std::string_view& stopReason, int& outputTokens);
bool isMessageStop(std::string_view data);
// The call's first event ({"type":"message_start","message":{"id":"…","type":
// "message","role":"assistant","model":"…","content":[],"stop_reason":null,
// "stop_sequence":null,"usage":{…}}}): the id and model, and the usage
// object's text (its members vary by API version; the caller parses it).
bool parseMessageStart(std::string_view data, std::string& id, std::string& model, std::string_view& usage);

class StreamAccumulator {
 public:
  StreamAccumulator(ChatObserver* observer, CacheTtl requestedTtl)
      : observer_(observer), requestedTtl_(requestedTtl) {}

  void onEvent(const SseEvent& event);

  bool finished() const { return finished_; }          // message_stop seen
  const Status& failure() const { return failure_; }    // an error event or malformed data
  bool emittedDeltas() const { return emitted_; }       // something reached the observer
  const ChatResponse& response() const { return response_; }
  // The final (or partial) response, tool inputs parsed; once: the blocks move into it.
  ChatResponse takeResponse();

 private:
  struct BlockBuilder {
    BlockType type = BlockType::Text;
    bool known = true;
    bool closed = false;
    std::string text;
    std::string partialJson;
    std::string id;
    std::string name;
    std::string signature;
  };

  void dispatch(const SseEvent& event);
  void onMessageStart(const Json& data);
  void onBlockStart(const Json& data);
  // What a message_start and a tool call's start do, read by a fast path or the general parser.
  void startMessage(std::string id, std::string model, const Json& usage);
  void startToolCall(int index, std::string id, std::string name);
  void onBlockDelta(const Json& data);
  void onTextDelta(int index, const std::string& text);
  void onToolInputDelta(int index, const std::string& partialJson);
  void onBlockStop(int index);
  void onMessageDelta(const Json& data);
  void onError(const Json& data);
  void applyUsage(const Json& usage);
  ContentBlock finishBlock(BlockBuilder&& builder) const;

  ChatObserver* observer_;
  CacheTtl requestedTtl_;
  ChatResponse response_;
  std::map<int, BlockBuilder> blocks_;
  bool finished_ = false;
  bool emitted_ = false;
  Status failure_;
  int fastIndex_ = 0;
  std::string fastText_;   // reused by the fast parsers: no allocation per token once grown
};

// Canonical code for an Anthropic error type ("overloaded_error", ...).
Code codeForErrorType(const std::string& type);

}  // namespace mx::anthropic
