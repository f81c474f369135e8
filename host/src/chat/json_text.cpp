#include "chat/json_text.hpp"

namespace mx::host::chat {

std::string artifactDeltaHead(std::string_view artifactId) {
  std::string head = "{\"artifactId\":";
  appendJsonString(head, artifactId);
  head.append(",\"content\":");
  return head;
}

void appendArtifactDelta(std::string& out, std::string_view head, std::string_view text) {
  out.append(head);
  appendJsonString(out, text);
  out.append(",\"type\":\"delta\"}");
}

void appendArtifactDeltaJson(std::string& out, std::string_view artifactId, std::string_view text) {
  appendArtifactDelta(out, artifactDeltaHead(artifactId), text);
}

}  // namespace mx::host::chat
