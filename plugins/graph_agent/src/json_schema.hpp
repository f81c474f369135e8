// Validation of tool arguments against the tool's JSON Schema: the subset
// tools use — type (or a list of types), properties, required,
// additionalProperties: false, items, enum, const, minimum/maximum,
// minLength/maxLength, minItems/maxItems. Problems are reported with a JSON
// Pointer to the value ("/topK: expected number, got string") so the model
// can correct its call. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "mx/json.hpp"

namespace mx::agent {

std::vector<std::string> validateAgainstSchema(const Json& value, const Json& schema);

}  // namespace mx::agent
