#include "hashing_embedder.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace mx::local {
namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  return dot;
}

TEST(HashingEmbedder, DeterministicNormalisedVectors) {
  HashingEmbedder embedder(256);
  auto a = embedder.embedOne("Spring sale email campaign");
  EXPECT_EQ(a.size(), 256u);
  EXPECT_EQ(a, embedder.embedOne("Spring sale email campaign"));
  EXPECT_NEAR(cosine(a, a), 1.0, 1e-5);
  EXPECT_EQ(embedder.modelName(), "local-hashing-v1");
}

TEST(HashingEmbedder, SimilarTextsAreCloserThanUnrelatedOnes) {
  HashingEmbedder embedder(256);
  auto query = embedder.embedOne("email subject line best practices");
  auto related = embedder.embedOne("Best practices for email subject lines: keep them short");
  auto unrelated = embedder.embedOne("Quarterly tax filing deadlines for contractors");
  EXPECT_GT(cosine(query, related), cosine(query, unrelated) + 0.2);
  auto plural = embedder.embedOne("campaigns");
  EXPECT_GT(cosine(embedder.embedOne("campaign"), plural), 0.3);  // shared trigrams
}

TEST(HashingEmbedder, BatchesAndCancellation) {
  HashingEmbedder embedder(64);
  auto vectors = embedder.embed({"a b", "c d", ""}, {});
  ASSERT_TRUE(vectors.isOk());
  EXPECT_EQ(vectors->size(), 3u);
  CancellationSource source;
  source.cancel();
  EXPECT_EQ(embedder.embed({"x"}, source.token()).status().code(), Code::Cancelled);
}

}  // namespace
}  // namespace mx::local
