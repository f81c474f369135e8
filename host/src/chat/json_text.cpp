#include "chat/json_text.hpp"

namespace mx::host::chat {

std::string artifactDeltaJson(std::string_view artifactId, std::string_view text) {
  std::string out;
  out.reserve(50 + artifactId.size() + text.size());
  appendArtifactDeltaJson(out, artifactId, text);
  return out;
}

void appendArtifactDeltaJson(std::string& out, std::string_view artifactId, std::string_view text) {
  out.append("{\"artifactId\":");
  appendJsonString(out, artifactId);
  out.append(",\"content\":");
  appendJsonString(out, text);
  out.append(",\"type\":\"delta\"}");
}

}  // namespace mx::host::chat
