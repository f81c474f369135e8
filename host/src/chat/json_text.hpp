// JSON text written straight into a buffer, for the hottest events (one per
// model token), where building a JSON tree only to serialise it would cost
// more than the event itself.
// What: appendJsonString writes `text` as a JSON string literal exactly as
// nlohmann::json::dump() does (same escapes, UTF-8 kept as is), except that
// invalid UTF-8 becomes U+FFFD instead of an exception.
// Thread-safety: pure functions. Blocking: never.
#pragma once

#include <string>
#include <string_view>

namespace mx::host::chat {

void appendJsonString(std::string& out, std::string_view text);

// {"artifactId":…,"content":…,"type":"delta"}: the artifact delta event's
// data, keys in the order nlohmann::json (std::map) writes them.
std::string artifactDeltaJson(std::string_view artifactId, std::string_view text);

}  // namespace mx::host::chat
