// The validate-content rule engine: checks a draft against compliance rules
// (the canon's, as JSON objects) and reports each violation with its rule id
// and character position.
//   banned_phrase {phrase}            must not appear (case-insensitive)
//   required_phrase / required_disclaimer {phrase}   must appear
//   regex_forbidden / regex_required {pattern}       ECMAScript regex
//   max_words / min_words / max_chars {value}
//   subject_max_chars {value}         the "Subject:" line of an email
// A rule given as plain text is guidance a machine cannot check: it is
// returned under "unchecked", never silently passed.
// A draft between artifact markers (the writer's result, mx_common/
// artifact_markers.hpp) is checked without them; positions count from the
// text inside.
// Pure; thread-safe.
#pragma once

#include "mx/json.hpp"

namespace mx::validate {

Json validateContent(const std::string& draft, const Json& rules);

}  // namespace mx::validate
