#include "vector_index.hpp"

#include <gtest/gtest.h>

#include <random>

namespace mx::sqlite {
namespace {

std::vector<float> randomVector(std::mt19937& random, int d) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(d));
  for (auto& x : v) x = normal(random);
  normalize(v);
  return v;
}

TEST(VectorIndex, ExactSearchIsPerUserAndFiltered) {
  VectorIndex index(3, 1000);
  index.add("alice", 1, {1, 0, 0}, {"r1", "handbook"});
  index.add("alice", 2, {0, 1, 0}, {"r2", "persona"});
  index.add("bob", 3, {1, 0, 0}, {"r3", "handbook"});
  auto hits = index.search("alice", {1, 0.1f, 0}, 5, nullptr);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].first, 1);
  auto personas = index.search("alice", {1, 0, 0}, 5, [](const VectorMeta& m) { return m.resourceType == "persona"; });
  ASSERT_EQ(personas.size(), 1u);
  EXPECT_EQ(personas[0].first, 2);
  EXPECT_TRUE(index.search("carol", {1, 0, 0}, 5, nullptr).empty());
  index.remove("alice", 1);
  EXPECT_EQ(index.search("alice", {1, 0, 0}, 5, nullptr).front().first, 2);
}

TEST(VectorIndex, HnswAgreesWithExactSearchAndHonoursDeletes) {
  std::mt19937 random(7);
  const int d = 32;
  VectorIndex small(d, 100000);  // exact
  VectorIndex large(d, 500);     // HNSW from 500 vectors
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 3000; ++i) {
    vectors.push_back(randomVector(random, d));
    small.add("u", i, vectors.back(), {"r" + std::to_string(i % 10), i % 2 ? "a" : "b"});
    large.add("u", i, vectors.back(), {"r" + std::to_string(i % 10), i % 2 ? "a" : "b"});
  }
  ASSERT_TRUE(large.usesHnsw("u"));
  int agree = 0;
  for (int q = 0; q < 50; ++q) {
    auto query = randomVector(random, d);
    auto exact = small.search("u", query, 5, nullptr);
    auto approx = large.search("u", query, 5, nullptr);
    for (const auto& hit : approx) {
      for (const auto& e : exact) agree += hit.first == e.first;
    }
  }
  EXPECT_GE(agree, 50 * 5 * 9 / 10);  // recall@5 >= 90%
  for (int i = 0; i < 3000; i += 2) large.remove("u", i);
  auto afterDelete = large.search("u", vectors[0], 10, nullptr);
  for (const auto& hit : afterDelete) EXPECT_EQ(hit.first % 2, 1) << "deleted vector returned";
  auto filtered = large.search("u", vectors[1], 5, [](const VectorMeta& m) { return m.resourceId == "r3"; });
  for (const auto& hit : filtered) EXPECT_EQ(hit.first % 10, 3);
  EXPECT_EQ(filtered.size(), 5u);
}

}  // namespace
}  // namespace mx::sqlite
