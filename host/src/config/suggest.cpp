#include "config/suggest.hpp"

#include <algorithm>

namespace mx::host {

// Optimal string alignment distance: a swap of two neighbours ("prot" for
// "port") counts as one edit, as typing mistakes do.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

namespace {

size_t commonPrefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

std::optional<std::string> closestMatch(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t bestDistance = 0;
  for (const auto& candidate : candidates) {
    size_t distance = editDistance(name, candidate);
    bool better = !best || distance < bestDistance ||
                  (distance == bestDistance && commonPrefix(name, candidate) > commonPrefix(name, *best));
    if (better) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A typo changes a few characters; beyond a third of the name it is another word.
  size_t limit = std::max<size_t>(1, name.size() / 3);
  if (best && bestDistance <= limit && bestDistance < name.size()) {
    return best;
  }
  return std::nullopt;
}

std::string didYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  auto match = closestMatch(name, candidates);
  return match ? " (did you mean \"" + *match + "\"?)" : std::string();
}

}  // namespace mx::host
