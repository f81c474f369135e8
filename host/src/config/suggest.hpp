// "Did you mean ...?" for unknown names: the closest candidate by edit distance,
// if it is close enough to be a plausible typo. Pure function; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mx::host {

size_t editDistance(std::string_view a, std::string_view b);

std::optional<std::string> closestMatch(std::string_view name,
                                        const std::vector<std::string>& candidates);

// " (did you mean \"x\"?)" or "" — ready to append to a message.
std::string didYouMean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace mx::host
