#include "http/http_cache.hpp"

#include <cstdint>
#include <cstdio>

namespace mx::host::http {

std::string etagFor(std::string_view body) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a, 64 bits
  for (unsigned char c : body) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return text;
}

bool ifNoneMatchHits(std::string_view ifNoneMatch, std::string_view etag) {
  size_t start = 0;
  while (start < ifNoneMatch.size()) {
    size_t end = ifNoneMatch.find(',', start);
    if (end == std::string_view::npos) end = ifNoneMatch.size();
    std::string_view candidate = ifNoneMatch.substr(start, end - start);
    while (!candidate.empty() && candidate.front() == ' ') candidate.remove_prefix(1);
    while (!candidate.empty() && candidate.back() == ' ') candidate.remove_suffix(1);
    if (candidate.substr(0, 2) == "W/") candidate.remove_prefix(2);  // weak comparison for GET
    if (candidate == "*" || candidate == etag) return true;
    start = end + 1;
  }
  return false;
}

std::string cacheControl(const HttpCachePolicy& policy) {
  return "private, max-age=" + std::to_string(policy.maxAge.count());
}

}  // namespace mx::host::http
