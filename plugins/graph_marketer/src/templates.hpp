// Tool arguments written in a graph file, filled from the run's state:
//   "{plan.contentType}"             the value at that state path, any JSON type
//   "{result:fetch-canon.compliance}" from the newest result of that tool this turn
//   "{user_message}"                 the user's words of this turn
//   "spring {plan.topic} ideas"      placeholders inside text: strings as they
//                                    are, arrays of strings joined with ", "
// A value that is exactly one placeholder keeps the JSON type; one that
// resolves to nothing is dropped from its object (an optional argument).
// Pure; thread-safe.
#pragma once

#include <string>

#include "mx/json.hpp"
#include "mx/status.hpp"
#include "turn.hpp"

namespace mx::marketer {

// The arguments with every placeholder resolved against `state` and `turn`.
Json fillTemplate(const Json& arguments, const Json& state, const Turn& turn);

// Checks that every placeholder is well formed ({...} closed, a known source):
// for start-up validation of a graph file.
Status checkTemplate(const Json& arguments);

}  // namespace mx::marketer
