#include "hybrid_search.hpp"

#include <gtest/gtest.h>

namespace mx::knowledge {
namespace {

SearchHit hit(const std::string& id) { return {id, "r", "T", "handbook", "", "text " + id, 0}; }

TEST(ReciprocalRankFusion, RewardsAgreementBetweenRankings) {
  auto fused = reciprocalRankFusion({{hit("a"), hit("b"), hit("c")}, {hit("c"), hit("a"), hit("d")}}, 60, 3);
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(fused[0].chunkId, "a");  // 1/61 + 1/62
  EXPECT_EQ(fused[1].chunkId, "c");  // 1/63 + 1/61
  EXPECT_NEAR(fused[0].score, 1.0 / 61 + 1.0 / 62, 1e-12);
  EXPECT_TRUE(reciprocalRankFusion({}, 60, 5).empty());
}

}  // namespace
}  // namespace mx::knowledge
