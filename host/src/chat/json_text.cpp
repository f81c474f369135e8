#include "chat/json_text.hpp"

namespace mx::host::chat {

std::string artifactDeltaHead(std::string_view artifactId) {
  std::string head;
  appendArtifactDeltaHead(head, artifactId);
  return head;
}

void appendArtifactDelta(std::string& out, std::string_view head, std::string_view text) {
  out.append(head);
  appendArtifactDeltaText(out, text);
}

}  // namespace mx::host::chat
