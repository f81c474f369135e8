// Names the calling thread for the operator's tools (`top -H`, `ps -L`,
// `perf report --sort comm`, gdb): a pool's threads are "<pool>-<index>",
// an event loop's "<loop>-<index>". Linux keeps at most 15 characters; a
// longer name is cut there. Naming is best effort: a failure changes nothing
// else.
// Thread-safety: names the calling thread only. Blocking: never.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mx::host {

inline constexpr size_t kMostThreadNameChars = 15;

void nameThisThread(std::string_view name);
std::string nameOf(std::string_view prefix, size_t index);  // "prefix-index", cut to kMostThreadNameChars
std::string thisThreadsName();

}  // namespace mx::host
