// mx/record_id.hpp — identifiers for the records a turn stores.
//
// What: newRecordId("conv_") gives "conv_" followed by 28 lowercase hex digits:
// 12 of the milliseconds since the Unix epoch, then 16 of a random 64-bit
// number. Time first, so that ids made later sort after earlier ones: a B-tree
// index on them (PostgreSQL's, SQLite's) then grows at its right edge, and an
// insert touches the few pages already in memory instead of a random leaf of an
// index that outgrows the cache — with random ids, every index on a record id
// or on a conversation id costs more per insert as the tables grow, and each
// page first written after a database checkpoint is logged whole again. The
// random part keeps ids made in the same millisecond apart; it comes from a
// per-thread Mersenne Twister, not a cryptographic generator: an id is not a
// secret (every lookup checks the caller's user). recordIdAt is the same with
// its parts given, for tests.
// Thread-safety: each thread draws from its own generator. Ownership: returns
// a new string.
// Blocking: never.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace mx {

inline std::string recordIdAt(std::string_view prefix, uint64_t millisSinceEpoch, uint64_t randomBits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(prefix.size() + 28);
  id.append(prefix);
  for (int shift = 44; shift >= 0; shift -= 4) id.push_back(kHex[(millisSinceEpoch >> shift) & 0xF]);
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(randomBits >> shift) & 0xF]);
  return id;
}

inline std::string newRecordId(std::string_view prefix) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return recordIdAt(prefix, static_cast<uint64_t>(millis), generator());
}

}  // namespace mx
