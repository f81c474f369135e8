// Conditions on state written in graph files, for conditional edges:
//   has_tool_calls(messages)   the channel's last message asks for tools
//   intent.contentType == "email"     (any JSON literal on the right)
//   intent.contentType != null
//   context.enableWebSearch           truthy: not null/false/0/""/[]/{}
//   draft exists
//   not <any of the above>
// Paths are channel.key.key, with [n] / [-1] for array elements.
// Parsing reports what is wrong; evaluation is pure and thread-safe.
#pragma once

#include <memory>
#include <string>

#include "mx/json.hpp"
#include "mx/status.hpp"

namespace mx::host {

class Predicate {
 public:
  static Result<Predicate> parse(const std::string& text);
  bool evaluate(const Json& state) const;
  const std::string& text() const { return text_; }
  // The channel the predicate reads (for validation against declared channels).
  const std::string& channel() const { return channel_; }

 private:
  enum class Op { HasToolCalls, Equals, NotEquals, Exists, Truthy };
  std::string text_;
  bool negate_ = false;
  Op op_ = Op::Truthy;
  std::vector<std::string> path_;  // first element: the channel
  std::string channel_;
  Json literal_;
};

// Resolves channel.key[0].key in state; nullptr if absent.
const Json* resolvePath(const Json& state, const std::vector<std::string>& path);

}  // namespace mx::host
