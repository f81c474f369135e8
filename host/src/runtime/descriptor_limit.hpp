// How many chat turns this process can hold at once, from its limit on open
// file descriptors.
//
// What: raiseDescriptorLimit() lifts the process's soft RLIMIT_NOFILE to its
// hard limit (what a server that holds one socket per client wants; Go's
// runtime and nginx's worker_rlimit_nofile do the same) and returns the limit
// now in force. turnsWithin() says how many turns fit in that many
// descriptors: a live turn holds three (the client's socket, the stream's
// duplicate of it that frames are written through, and its model
// connection), and `reserve` are kept for everything else (the listener,
// database and cache connections, epoll, files).
// Thread-safety: raiseDescriptorLimit changes process state; call it once,
// at start-up. turnsWithin is pure. Blocking: never.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace mx::host {

constexpr size_t kDescriptorsPerTurn = 3;
constexpr uint64_t kDescriptorReserve = 256;

// The soft limit after raising it; nullopt when it is unlimited.
std::optional<uint64_t> raiseDescriptorLimit();

// Turns that fit in `limit` descriptors (at least 1).
size_t turnsWithin(uint64_t limit);

}  // namespace mx::host
