// The artifact delta event's data appended straight to a buffer: one such
// event per model token, where building a JSON tree only to serialise it would
// cost more than the event itself (strings escaped by mx::appendJsonString).
// Thread-safety: pure functions. Blocking: never.
#pragma once

#include <string>
#include <string_view>

#include "mx/store.hpp"

namespace mx::host::chat {

// {"artifactId":…,"content":…,"type":"delta"} (mx::appendArtifactDeltaData's
// form, keys in the order nlohmann::json writes them) in two parts, for the many
// deltas of one artifact: the text before the content, written once per
// artifact, then each delta from it.
std::string artifactDeltaHead(std::string_view artifactId);
void appendArtifactDelta(std::string& out, std::string_view head, std::string_view text);

}  // namespace mx::host::chat
