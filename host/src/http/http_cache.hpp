// The HTTP cache layer of the architecture (5 minutes, "static resources,
// canon definitions"): GET responses that change rarely carry an ETag (a hash
// of the body) and `Cache-Control: private, max-age=N`; a request whose
// If-None-Match names the current ETag gets 304 Not Modified without a body.
// `private` because canon is per user (their overrides): shared proxies must
// not serve one user's canon to another.
// Thread-safety: stateless. Blocking: never.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace mx::host::http {

struct HttpCachePolicy {
  std::chrono::seconds maxAge{300};
};

// A strong ETag for `body`: "\"<16 hex digits>\"".
std::string etagFor(std::string_view body);

// True when an If-None-Match header value names `etag` (a list, or "*").
bool ifNoneMatchHits(std::string_view ifNoneMatch, std::string_view etag);

// The Cache-Control value for `policy`.
std::string cacheControl(const HttpCachePolicy& policy);

}  // namespace mx::host::http
