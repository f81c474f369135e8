// How many chat turns this process can hold at once, from its limit on open
// file descriptors.
//
// What: raiseDescriptorLimit() lifts the process's soft RLIMIT_NOFILE to its
// hard limit (what a server that holds one socket per client wants; Go's
// runtime and nginx's worker_rlimit_nofile do the same) and returns the limit
// now in force; descriptorLimit() reads it. turnsWithin() says how many turns
// fit in that many descriptors: a live turn holds three (the client's socket,
// the stream's duplicate of it that frames are written through, and one
// upstream connection), and a tenth of the limit (at least 256) is kept for
// everything else: the listener, database and cache connections, epoll,
// files, and the connections of clients being turned away at the limit (with
// 10,000 streams wanting in, thousands of refused clients come back within a
// second of each other, each holding a socket until its 503 is out). The budget
// holds because both sides are capped: [chat] max_live_runs admits that many
// turns (two descriptors each), and the HTTP client keeps at most that many
// connections open, in use or idle (a turn whose tools call two services at
// once may wait for a connection; it does not fail for a descriptor).
// Thread-safety: raiseDescriptorLimit changes process state; call it once,
// at start-up. turnsWithin is pure. Blocking: openDescriptorCount reads
// /proc (milliseconds at tens of thousands of descriptors); the rest never.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace mx::host {

constexpr size_t kDescriptorsPerTurn = 3;
constexpr uint64_t kMinDescriptorReserve = 256;

// Descriptors kept back from `limit` for everything but the turns.
uint64_t descriptorReserve(uint64_t limit);

// The soft limit after raising it; nullopt when it is unlimited.
std::optional<uint64_t> raiseDescriptorLimit();

// The soft limit in force; nullopt when it is unlimited.
std::optional<uint64_t> descriptorLimit();

// Turns that fit in `limit` descriptors (at least 1).
size_t turnsWithin(uint64_t limit);

// Descriptors this process has open now (the entries of /proc/self/fd; 0 if
// unreadable). Takes milliseconds at tens of thousands: not for a hot path.
size_t openDescriptorCount();

}  // namespace mx::host
