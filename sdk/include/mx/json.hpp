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

namespace mx {
using Json = nlohmann::json;
}  // namespace mx
