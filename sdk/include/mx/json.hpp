// mx/json.hpp — the JSON value type shared by host and plugins.
//
// What: `mx::Json` is nlohmann::json. The C++ ABI mode of the front door
// (see plugin.hpp) requires host and plugin to be built with the same toolchain
// and the same nlohmann/json version (it is part of the toolchain tag), so JSON
// values may cross the boundary by reference.
// Thread-safety: as nlohmann::json — concurrent reads of one value are safe,
// writes need external synchronisation.
// Blocking: never.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace mx {
using Json = nlohmann::json;

// Read access to a member without a copy: `object.contains(k) ? object[k] :
// Json()` bound to a `const Json&` copies the member whole (the conditional's
// result is a temporary when one side is), and for a conversation that is
// every message on every call. These return a reference into `object`, or to
// a constant empty value when `object` is not an object or has no such member
// (or, for the typed ones, when the member has another type).
inline const Json& memberOrNull(const Json& object, std::string_view key) {
  static const Json null;
  if (!object.is_object()) return null;
  auto found = object.find(key);
  return found == object.end() ? null : *found;
}
inline const Json& objectMember(const Json& object, std::string_view key) {
  static const Json empty = Json::object();
  const Json& member = memberOrNull(object, key);
  return member.is_object() ? member : empty;
}
inline const Json& arrayMember(const Json& object, std::string_view key) {
  static const Json empty = Json::array();
  const Json& member = memberOrNull(object, key);
  return member.is_array() ? member : empty;
}
}  // namespace mx
