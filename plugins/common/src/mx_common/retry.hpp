// mx_common/retry.hpp — retry rules for HTTP APIs (value types and pure functions).
//
// What: the rules the official Anthropic and OpenAI SDKs follow, for provider
// plugins to share: which HTTP statuses are retried (408, 409, 429, 5xx, 529;
// never 400/401/403/404; `x-should-retry` overrides), how long to wait
// (`retry-after-ms`, then `retry-after` in seconds, honoured when 0 < d <= the
// policy's cap; otherwise exponential backoff with jitter), and the canonical
// code of each status.
// Thread-safety: pure functions; RetryPolicy is a value.
// Blocking: never.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "mx/http.hpp"
#include "mx/status.hpp"

namespace mx {

struct RetryPolicy {
  int maxRetries = 2;
  std::chrono::milliseconds initialDelay{500};
  std::chrono::milliseconds maxDelay{8000};
  std::chrono::milliseconds maxRetryAfter{60000};  // a longer server hint is ignored
};

inline Code codeForHttpStatus(int status) {
  switch (status) {
    case 400: return Code::InvalidArgument;
    case 401: return Code::Unauthenticated;
    case 403: return Code::PermissionDenied;
    case 404: return Code::NotFound;
    case 408: return Code::DeadlineExceeded;
    case 409: return Code::Aborted;
    case 413: return Code::InvalidArgument;
    case 422: return Code::InvalidArgument;
    case 429: return Code::ResourceExhausted;
    default: break;
  }
  if (status >= 500) {
    return Code::Unavailable;  // 500, 502, 503, 504, 529 (overloaded)
  }
  return status >= 400 ? Code::InvalidArgument : Code::Unknown;
}

inline bool shouldRetryStatus(int status, const HttpHeaders& headers) {
  if (auto hint = headers.find("x-should-retry")) {
    if (*hint == "true") return true;
    if (*hint == "false") return false;
  }
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

// The server's requested delay, if it sent a usable one.
inline std::optional<std::chrono::milliseconds> retryAfter(const HttpHeaders& headers, const RetryPolicy& policy) {
  std::optional<double> millis;
  if (auto ms = headers.find("retry-after-ms")) {
    char* end = nullptr;
    std::string text(*ms);
    double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str()) millis = value;
  }
  if (!millis) {
    if (auto seconds = headers.find("retry-after")) {
      char* end = nullptr;
      std::string text(*seconds);
      double value = std::strtod(text.c_str(), &end);
      if (end != text.c_str() && *end == '\0') millis = value * 1000.0;  // HTTP-dates fall back to backoff
    }
  }
  if (millis && *millis > 0 && *millis <= static_cast<double>(policy.maxRetryAfter.count())) {
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(*millis)));
  }
  return std::nullopt;
}

// Exponential backoff for retry number `attempt` (0-based) with jitter in
// [0.75, 1]; `unitRandom` is a uniform number in [0, 1).
inline std::chrono::milliseconds backoffDelay(int attempt, const RetryPolicy& policy, double unitRandom) {
  double base = static_cast<double>(policy.initialDelay.count()) * std::pow(2.0, attempt);
  double capped = std::min(base, static_cast<double>(policy.maxDelay.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(capped * (1.0 - 0.25 * unitRandom)));
}

}  // namespace mx
