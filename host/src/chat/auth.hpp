// Who is calling. `[auth] mode = "none"` (the embedded default) serves one
// local user; `mode = "api_keys"` requires `Authorization: Bearer <key>` and
// maps the key's SHA-256 (hex) to a user id through `[auth.keys]`, so keys are
// never stored in clear. Thread-safe (immutable); never blocks.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "mx/status.hpp"

namespace mx::host::chat {

class Authenticator {
 public:
  static Authenticator none(std::string localUser = "local") { return Authenticator(true, std::move(localUser), {}); }
  static Authenticator apiKeys(std::map<std::string, std::string> sha256ToUser) {
    return Authenticator(false, "", std::move(sha256ToUser));
  }

  // The user for an Authorization header value (nullopt if absent).
  Result<std::string> authenticate(const std::optional<std::string>& authorization) const;

 private:
  Authenticator(bool open, std::string localUser, std::map<std::string, std::string> keys)
      : open_(open), localUser_(std::move(localUser)), keys_(std::move(keys)) {}
  bool open_;
  std::string localUser_;
  std::map<std::string, std::string> keys_;
};

std::string sha256Hex(const std::string& text);

}  // namespace mx::host::chat
