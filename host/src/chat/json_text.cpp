#include "chat/json_text.hpp"

namespace mx::host::chat {

void appendArtifactDeltaJson(std::string& out, std::string_view artifactId, std::string_view text) {
  out.append("{\"artifactId\":");
  appendJsonString(out, artifactId);
  out.append(",\"content\":");
  appendJsonString(out, text);
  out.append(",\"type\":\"delta\"}");
}

}  // namespace mx::host::chat
