// The migration list of store_postgres (applying it needs a server: see
// tests/stores/postgres_store_test.cpp).
#include "pg_migrations.hpp"

#include <gtest/gtest.h>

namespace mx::pg {
namespace {

TEST(PgMigrations, VersionsStartAtOneAndIncreaseByOne) {
  auto all = migrations({});
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i + 1));
    EXPECT_FALSE(all[i].description.empty());
  }
}

TEST(PgMigrations, PgvectorModeCreatesTheExtensionAColumnOfTheConfiguredSizeAndAnHnswIndex) {
  auto all = migrations({1536, VectorMode::Pgvector});
  const std::string& sql = all[1].sql;
  EXPECT_NE(sql.find("CREATE EXTENSION IF NOT EXISTS vector"), std::string::npos);
  EXPECT_NE(sql.find("vector(1536)"), std::string::npos);
  EXPECT_NE(sql.find("USING hnsw (embedding vector_cosine_ops)"), std::string::npos);
  EXPECT_NE(sql.find("'pgvector'"), std::string::npos);
}

TEST(PgMigrations, ExactModeNeedsNoExtension) {
  auto all = migrations({256, VectorMode::Exact});
  for (const auto& m : all) EXPECT_EQ(m.sql.find("EXTENSION"), std::string::npos) << m.version;
  EXPECT_NE(all[1].sql.find("real[]"), std::string::npos);
  EXPECT_NE(all[1].sql.find("'256'"), std::string::npos);
}

}  // namespace
}  // namespace mx::pg
