// Percentiles for the benchmark programs (nearest rank over a copy).
#pragma once

#include <algorithm>
#include <vector>

namespace mx::bench {

// The p-th percentile (0..1) of `values`; -1 when there are none.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace mx::bench
