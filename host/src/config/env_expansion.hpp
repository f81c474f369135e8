// Expansion of ${VAR} and ${VAR:-default} in config strings.
//
// `$$` stands for a literal `$`. An unset variable without a default is an
// error (empty-but-set counts as set for ${VAR}; ${VAR:-d} also uses d when VAR
// is empty, as in the shell). Thread-safe as long as nobody calls setenv
// concurrently; never blocks.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mx/status.hpp"

namespace mx::host {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

EnvLookup processEnvironment();

Result<std::string> expandEnvironment(std::string_view text, const EnvLookup& lookup);

}  // namespace mx::host
