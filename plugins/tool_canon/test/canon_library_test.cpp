#include "canon_library.hpp"

#include <gtest/gtest.h>

#include "mx/testing/fakes.hpp"

namespace mx::canon {
namespace {

const std::string kCanonDir = MX_CANON_DIR;

TEST(CanonLibrary, ShippedDefaultsLoadForEveryContentType) {
  auto library = CanonLibrary::load(kCanonDir);
  ASSERT_TRUE(library.isOk()) << library.status().toString();
  for (const auto& type : contentTypes()) {
    const Json& canon = (*library)->defaults(type);
    EXPECT_FALSE(canon["templates"].empty()) << type;
    EXPECT_FALSE(canon["lookFor"].empty()) << type;
  }
}

TEST(CanonLibrary, OverridesReplaceOrAddAndCategoriesFilter) {
  auto library = CanonLibrary::load(kCanonDir).value();
  std::vector<CanonEntry> overrides = {
      {"u", "email", "template", "email-promo", {{"name", "Our promo"}, {"body", "Subject: {{subject}}"}}, 1},
      {"u", "email", "compliance", "house-rule", {{"type", "banned_phrase"}, {"phrase", "cheap"}}, 1}};
  Json merged = mergeOverrides(library->defaults("email"), overrides);
  ASSERT_EQ(merged["templates"].size(), 1u);
  EXPECT_EQ(merged["templates"][0]["name"], "Our promo");
  EXPECT_EQ(merged["templates"][0]["source"], "user");
  EXPECT_EQ(merged["compliance"].back()["id"], "house-rule");
  auto only = library->fetch("u", "email", "compliance", nullptr, nullptr, std::chrono::hours(1), nullptr);
  ASSERT_TRUE(only.isOk());
  EXPECT_FALSE(only->contains("templates"));
  EXPECT_TRUE(only->contains("compliance"));
  EXPECT_EQ(library->fetch("u", "tweet", "all", nullptr, nullptr, std::chrono::hours(1), nullptr).status().code(), Code::InvalidArgument);
  EXPECT_EQ(library->fetch("u", "email", "vibes", nullptr, nullptr, std::chrono::hours(1), nullptr).status().code(), Code::InvalidArgument);
}

TEST(CanonLibrary, CachedAndAnOutageIsAMiss) {
  auto library = CanonLibrary::load(kCanonDir).value();
  auto memory = std::make_shared<testing::InMemoryCache>();
  testing::FaultInjectingCache cache(memory);
  testing::RecordingLogger logger;
  ASSERT_TRUE(library->fetch("u", "ad", "all", nullptr, &cache, std::chrono::hours(1), &logger).isOk());
  EXPECT_TRUE(memory->get("canon:u:ad")->has_value());
  cache.failWith(unavailableError("redis down"));
  auto during = library->fetch("u", "ad", "all", nullptr, &cache, std::chrono::hours(1), &logger);
  ASSERT_TRUE(during.isOk());
  EXPECT_TRUE(logger.contains("canon cache unavailable"));
}

// The parse of the cached text is reused only while the cache holds the same
// text: a change in the cache (another server saved an override) is seen.
TEST(CanonLibrary, AKeptParseIsUsedOnlyForTheSameCachedText) {
  auto library = CanonLibrary::load(kCanonDir).value();
  auto memory = std::make_shared<testing::InMemoryCache>();
  auto first = library->fetch("u", "email", "all", nullptr, memory.get(), std::chrono::hours(1), nullptr);
  auto again = library->fetch("u", "email", "all", nullptr, memory.get(), std::chrono::hours(1), nullptr);
  ASSERT_TRUE(first.isOk() && again.isOk());
  EXPECT_EQ(*first, *again);
  Json changed = Json::parse(**memory->get("canon:u:email"));
  changed["templates"] = Json::array({{{"id", "t-new"}, {"name", "Changed elsewhere"}}});
  ASSERT_TRUE(memory->set("canon:u:email", changed.dump(), std::chrono::hours(1)).isOk());
  auto after = library->fetch("u", "email", "template", nullptr, memory.get(), std::chrono::hours(1), nullptr);
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ((*after)["templates"][0]["name"], "Changed elsewhere");
  ASSERT_TRUE(memory->set("canon:u:email", "not json", std::chrono::hours(1)).isOk());  // broken: rebuilt from the defaults
  auto rebuilt = library->fetch("u", "email", "template", nullptr, memory.get(), std::chrono::hours(1), nullptr);
  ASSERT_TRUE(rebuilt.isOk());
  EXPECT_EQ((*rebuilt)["templates"], library->defaults("email")["templates"]);
}

}  // namespace
}  // namespace mx::canon
