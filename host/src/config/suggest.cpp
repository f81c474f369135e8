#include "config/suggest.hpp"

#include <algorithm>
#include <numeric>

namespace mx::host {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  std::iota(previous.begin(), previous.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> closestMatch(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t bestDistance = 0;
  for (const auto& candidate : candidates) {
    size_t distance = editDistance(name, candidate);
    if (!best || distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A typo changes a few characters; beyond a third of the name it is another word.
  size_t limit = std::max<size_t>(2, name.size() / 3);
  if (best && bestDistance <= limit) {
    return best;
  }
  return std::nullopt;
}

std::string didYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  auto match = closestMatch(name, candidates);
  return match ? " (did you mean \"" + *match + "\"?)" : std::string();
}

}  // namespace mx::host
