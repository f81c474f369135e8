// SQL helpers of store_postgres, pure functions (unit-tested without a server):
// libpqxx exceptions to canonical Status codes, the text forms of arrays and
// vectors passed as parameters, and the tsquery for free text.
// Thread-safety: stateless. Blocking: `guarded` runs its body (which may).
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mx/status.hpp"

namespace mx::pg {

// The Status for an exception thrown by libpqxx (or anything else): unique
// violation -> AlreadyExists, connection failures and server shutdown ->
// Unavailable, statement timeout -> DeadlineExceeded, invalid text
// representation -> InvalidArgument, others -> Internal. `what` says which call.
Status statusForException(const std::exception& e, std::string_view what);
Status statusForSqlState(std::string_view sqlstate, std::string message);

// Runs `body`, turning any exception into a Status (the plugin boundary never
// sees one). `body` returns Status or Result<T>.
template <class Body>
auto guarded(std::string_view what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return statusForException(e, what);
  } catch (...) {
    return internalError(std::string(what) + ": unknown exception");
  }
}

// '{"a","b"}': a text[] literal, every element quoted and escaped.
std::string textArrayLiteral(const std::vector<std::string>& values);
// '{1,2}': a bigint[] literal.
std::string bigintArrayLiteral(const std::vector<int64_t>& values);
// '[0.1,0.2]' (pgvector's vector) or '{0.1,0.2}' (real[]), exact float round-trip.
std::string vectorLiteral(const std::vector<float>& values);
std::string realArrayLiteral(const std::vector<float>& values);
// Parses either form back ('' or NULL text -> empty).
std::vector<float> parseFloatList(std::string_view text);

// A tsquery (for to_tsquery) matching any word of free text: 'email | subject'
// ("" when the text has no words). Words are letters and digits only, so the
// user's text cannot inject tsquery operators.
std::string tsQueryText(std::string_view text);

}  // namespace mx::pg
