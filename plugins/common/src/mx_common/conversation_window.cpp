#include "mx_common/conversation_window.hpp"

namespace mx::common {

void addConversation(const Json& state, const std::string& messagesChannel, const std::string& summaryChannel,
                     ChatRequest& request) {
  size_t from = 0;
  if (!summaryChannel.empty() && state.contains(summaryChannel) && state[summaryChannel].is_object()) {
    const Json& summary = state[summaryChannel];
    std::string text = summary.value("text", "");
    from = summary.value("through", size_t{0});
    if (!text.empty() && from > 0) {
      request.system.push_back(ContentBlock::makeText("Summary of the earlier conversation (older messages are not repeated):\n" + text));
    }
  }
  const Json& messages = memberOrNull(state, messagesChannel);
  if (!messages.is_array()) return;
  request.conversation = {&messages, from < messages.size() ? from : 0};
}

int64_t estimateTokens(const Json& messages, size_t from) {
  if (!messages.is_array()) return 0;
  size_t chars = 0;
  for (size_t i = from; i < messages.size(); ++i) {
    const Json& content = memberOrNull(messages[i], "content");
    if (content.is_string()) {
      chars += content.get_ref<const std::string&>().size();
    } else if (content.is_array()) {
      for (const auto& block : content) {
        for (const char* key : {"text", "content"}) {
          if (block.contains(key) && block[key].is_string()) chars += block[key].get_ref<const std::string&>().size();
        }
        if (block.contains("input")) chars += block["input"].dump().size();
      }
    }
  }
  return static_cast<int64_t>(chars / 4);
}

}  // namespace mx::common
