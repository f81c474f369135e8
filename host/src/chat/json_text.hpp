// The artifact delta event's data appended straight to a buffer: one such
// event per model token, where building a JSON tree only to serialise it would
// cost more than the event itself (strings escaped by mx::appendJsonString).
// Thread-safety: pure functions. Blocking: never.
#pragma once

#include <string>
#include <string_view>

#include "mx/json_text.hpp"

namespace mx::host::chat {

// {"artifactId":…,"content":…,"type":"delta"}: keys in the order
// nlohmann::json (std::map) writes them.
void appendArtifactDeltaJson(std::string& out, std::string_view artifactId, std::string_view text);

// The same in two parts, for the many deltas of one artifact: the text before
// the content, written once per artifact, then each delta from it.
std::string artifactDeltaHead(std::string_view artifactId);
void appendArtifactDelta(std::string& out, std::string_view head, std::string_view text);

}  // namespace mx::host::chat
