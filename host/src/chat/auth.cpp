#include "chat/auth.hpp"

#include <openssl/evp.h>

namespace mx::host::chat {

std::string sha256Hex(const std::string& text) {
  // Fetched once: OpenSSL 3 looks the implementation up in its provider
  // tables on every EVP_sha256() digest otherwise (a lock and a hash lookup
  // per request). A fetched method is safe to share between threads.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, kSha256 != nullptr ? kSha256 : EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

Result<std::string> Authenticator::authenticate(const std::optional<std::string>& authorization) const {
  if (open_) return localUser_;
  if (!authorization || authorization->rfind("Bearer ", 0) != 0 || authorization->size() <= 7) {
    return unauthenticatedError("an API key is required: send Authorization: Bearer <key>");
  }
  auto it = keys_.find(sha256Hex(authorization->substr(7)));
  if (it == keys_.end()) return unauthenticatedError("the API key is not valid");
  return it->second;
}

}  // namespace mx::host::chat
