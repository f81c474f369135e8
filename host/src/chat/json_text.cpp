#include "chat/json_text.hpp"

namespace mx::host::chat {

std::string artifactDeltaJson(std::string_view artifactId, std::string_view text) {
  std::string out;
  out.reserve(50 + artifactId.size() + text.size());
  out.append("{\"artifactId\":");
  appendJsonString(out, artifactId);
  out.append(",\"content\":");
  appendJsonString(out, text);
  out.append(",\"type\":\"delta\"}");
  return out;
}

}  // namespace mx::host::chat
