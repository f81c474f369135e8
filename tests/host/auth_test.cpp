// API keys: matched by their SHA-256, never kept in clear.
#include <gtest/gtest.h>

#include "chat/auth.hpp"

namespace mx::host::chat {
namespace {

TEST(Auth, Sha256HexIsTheStandardDigest) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2 example
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Auth, ABearerKeyIsItsUserAndAnythingElseIsRefused) {
  auto keys = Authenticator::apiKeys({{sha256Hex("key-a"), "alice"}});
  auto alice = keys.authenticate("Bearer key-a");
  ASSERT_TRUE(alice.isOk()) << alice.status().toString();
  EXPECT_EQ(*alice, "alice");
  for (const std::optional<std::string>& header : {std::optional<std::string>(), std::optional<std::string>("Bearer key-b"),
                                                  std::optional<std::string>("Bearer "), std::optional<std::string>("key-a")}) {
    EXPECT_EQ(keys.authenticate(header).status().code(), Code::Unauthenticated) << header.value_or("(none)");
  }
  EXPECT_EQ(*Authenticator::none("local").authenticate(std::nullopt), "local");
}

}  // namespace
}  // namespace mx::host::chat
