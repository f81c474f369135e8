// mx/status.hpp — errors as values across the plugin boundary.
//
// What: `Status` (a canonical code plus a message) and `Result<T>` (a value or a
// non-OK Status). Every SDK interface returns one of these; exceptions never cross
// the boundary (the front-door wrapper and the host's adapters catch them).
// Codes follow the gRPC/Abseil canonical set and carry retry meaning: callers key
// retry policy off the code, never off the message text.
//   ResourceExhausted  rate limited / quota: retry after a delay
//   Unavailable        transient upstream failure: retry with backoff
//   DeadlineExceeded   timed out: retry only if the operation is idempotent
//   InvalidArgument    the caller's input is wrong: do not retry (tool args go back to the model)
//   FailedPrecondition system not in a state to serve (missing API key): do not retry
// Thread-safety: value types; const methods are safe to call concurrently.
// Ownership: plain values, no references to external memory.
// Blocking: never.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mx {

enum class Code : int {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
};

// Stable snake_case names, used in JSON error bodies and logs.
constexpr std::string_view codeName(Code code) {
  switch (code) {
    case Code::Ok: return "ok";
    case Code::Cancelled: return "cancelled";
    case Code::Unknown: return "unknown";
    case Code::InvalidArgument: return "invalid_argument";
    case Code::DeadlineExceeded: return "deadline_exceeded";
    case Code::NotFound: return "not_found";
    case Code::AlreadyExists: return "already_exists";
    case Code::PermissionDenied: return "permission_denied";
    case Code::ResourceExhausted: return "resource_exhausted";
    case Code::FailedPrecondition: return "failed_precondition";
    case Code::Aborted: return "aborted";
    case Code::OutOfRange: return "out_of_range";
    case Code::Unimplemented: return "unimplemented";
    case Code::Internal: return "internal";
    case Code::Unavailable: return "unavailable";
    case Code::DataLoss: return "data_loss";
    case Code::Unauthenticated: return "unauthenticated";
  }
  return "unknown";
}

// True for the codes a caller may retry with backoff.
constexpr bool isRetryable(Code code) {
  return code == Code::ResourceExhausted || code == Code::Unavailable ||
         code == Code::DeadlineExceeded || code == Code::Aborted;
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == Code::Ok; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: message" — for logs; API bodies carry code and message apart.
  std::string toString() const {
    if (isOk()) {
      return "ok";
    }
    return std::string(codeName(code_)) + ": " + message_;
  }

  // Prepends context while keeping the code: `s.withContext("loading canon")`.
  Status withContext(std::string_view context) const {
    if (isOk()) {
      return *this;
    }
    return {code_, std::string(context) + ": " + message_};
  }

  bool operator==(const Status& other) const {
    return code_ == other.code_ && message_ == other.message_;
  }

 private:
  Code code_ = Code::Ok;
  std::string message_;
};

inline Status cancelledError(std::string m) { return {Code::Cancelled, std::move(m)}; }
inline Status invalidArgumentError(std::string m) { return {Code::InvalidArgument, std::move(m)}; }
inline Status deadlineExceededError(std::string m) { return {Code::DeadlineExceeded, std::move(m)}; }
inline Status notFoundError(std::string m) { return {Code::NotFound, std::move(m)}; }
inline Status alreadyExistsError(std::string m) { return {Code::AlreadyExists, std::move(m)}; }
inline Status permissionDeniedError(std::string m) { return {Code::PermissionDenied, std::move(m)}; }
inline Status resourceExhaustedError(std::string m) { return {Code::ResourceExhausted, std::move(m)}; }
inline Status failedPreconditionError(std::string m) { return {Code::FailedPrecondition, std::move(m)}; }
inline Status unimplementedError(std::string m) { return {Code::Unimplemented, std::move(m)}; }
inline Status internalError(std::string m) { return {Code::Internal, std::move(m)}; }
inline Status unavailableError(std::string m) { return {Code::Unavailable, std::move(m)}; }
inline Status unauthenticatedError(std::string m) { return {Code::Unauthenticated, std::move(m)}; }

// A value or an error. Constructing from an OK Status is a programming error and
// is turned into an Internal error rather than an empty Result.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                           // NOLINT(google-explicit-constructor)
      : data_(status.isOk() ? internalError("Result constructed from an OK status")
                            : std::move(status)) {}

  bool isOk() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return isOk(); }

  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<Status>(data_);
  }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  T valueOr(T fallback) const& { return isOk() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace mx

// Early return for Status-returning code: `MX_RETURN_IF_ERROR(doThing());`
#define MX_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::mx::Status mx_status_tmp_ = (expr);   \
    if (!mx_status_tmp_.isOk()) {           \
      return mx_status_tmp_;                \
    }                                       \
  } while (false)
