#include "marketer_nodes.hpp"
#include "turn.hpp"

namespace mx::marketer {

Result<std::vector<std::string>> RevisionRouter::route(const Json& state) {
  Turn turn = readTurn(memberOrNull(state, config_.messagesChannel));
  const TurnToolCall* validation = turn.latest(config_.validateTool);
  if (validation == nullptr) return failedPreconditionError("no " + config_.validateTool + " result in this turn to route on");
  bool passed = !validation->isError && validation->result.is_object() && validation->result.value("valid", false);
  size_t drafts = turn.count(config_.writerTool);
  bool mayRevise = !validation->isError && drafts >= 1 && drafts <= static_cast<size_t>(config_.maxRevisions);
  return std::vector<std::string>{!passed && mayRevise ? config_.revise : config_.finish};
}

}  // namespace mx::marketer
