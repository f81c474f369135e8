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
// Constant empty values to stand in for a missing one by reference
// (`p != nullptr ? *p : emptyObject()` copies nothing; `: Json::object()` copies *p).
inline const Json& nullJson() {
  static const Json null;
  return null;
}
inline const Json& emptyObject() {
  static const Json empty = Json::object();
  return empty;
}
inline const Json& emptyArray() {
  static const Json empty = Json::array();
  return empty;
}

inline const Json& memberOrNull(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullJson();
  auto found = object.find(key);
  return found == object.end() ? nullJson() : *found;
}
inline const Json& objectMember(const Json& object, std::string_view key) {
  const Json& member = memberOrNull(object, key);
  return member.is_object() ? member : emptyObject();
}
inline const Json& arrayMember(const Json& object, std::string_view key) {
  const Json& member = memberOrNull(object, key);
  return member.is_array() ? member : emptyArray();
}
}  // namespace mx
