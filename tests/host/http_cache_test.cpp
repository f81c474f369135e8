// The HTTP cache layer's helpers.
#include <gtest/gtest.h>

#include "http/http_cache.hpp"

namespace mx::host::http {
namespace {

TEST(HttpCache, EtagsAreStableQuotedAndChangeWithTheBody) {
  std::string a = etagFor("{\"x\":1}");
  EXPECT_EQ(a, etagFor("{\"x\":1}"));
  EXPECT_NE(a, etagFor("{\"x\":2}"));
  EXPECT_EQ(a.size(), 18u);
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
}

TEST(HttpCache, IfNoneMatchAcceptsListsWeakTagsAndStar) {
  std::string etag = etagFor("body");
  EXPECT_TRUE(ifNoneMatchHits(etag, etag));
  EXPECT_TRUE(ifNoneMatchHits("\"other\", " + etag, etag));
  EXPECT_TRUE(ifNoneMatchHits("W/" + etag, etag));
  EXPECT_TRUE(ifNoneMatchHits("*", etag));
  EXPECT_FALSE(ifNoneMatchHits("\"other\"", etag));
  EXPECT_FALSE(ifNoneMatchHits("", etag));
}

TEST(HttpCache, CacheControlIsPrivateWithTheConfiguredMaxAge) {
  EXPECT_EQ(cacheControl({std::chrono::seconds(300)}), "private, max-age=300");
}

}  // namespace
}  // namespace mx::host::http
