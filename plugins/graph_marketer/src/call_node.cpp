#include "marketer_nodes.hpp"
#include "templates.hpp"
#include "turn.hpp"

namespace mx::marketer {

void CallNode::run(std::shared_ptr<NodeContext> context, NodeDone done) {
  const Json& state = *context->state;
  const Json& messages = memberOrNull(state, config_.messagesChannel);
  Turn turn = readTurn(messages);
  Json arguments = fillTemplate(config_.arguments, state, turn);
  Json reasoning = fillTemplate(Json(config_.reasoning), state, turn);
  Message call;
  call.role = Role::Assistant;
  if (reasoning.is_string()) {
    call.content.push_back(ContentBlock::makeText(reasoning.get<std::string>()));
    if (context->events != nullptr) {
      context->events->emitJson("thinking", {{"type", "agent_reasoning"}, {"content", reasoning}});
    }
  }
  // Unique within the conversation: the node and the number of messages so far.
  std::string id = "toolu_mx_" + context->nodeName + "_" + std::to_string(messages.is_array() ? messages.size() : 0);
  call.content.push_back(ContentBlock::makeToolUse(id, config_.tool, std::move(arguments)));
  done(Json{{config_.messagesChannel, Json::array({toJson(std::move(call))})}});
}

}  // namespace mx::marketer
