// The pure SQL helpers of store_postgres: no server needed.
#include "pg_sql.hpp"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "pg_pool.hpp"

namespace mx::pg {
namespace {

TEST(PgSql, TextArraysQuoteAndEscapeEveryElement) {
  EXPECT_EQ(textArrayLiteral({}), "{}");
  EXPECT_EQ(textArrayLiteral({"a", "b c"}), R"({"a","b c"})");
  EXPECT_EQ(textArrayLiteral({"say \"hi\"", "back\\slash", "{braces},commas", "NULL"}),
            R"({"say \"hi\"","back\\slash","{braces},commas","NULL"})");
  EXPECT_EQ(textArrayLiteral({"\"\\\"", "", "end\\", "\"start", std::string("nul\0byte", 8)}),
            std::string(R"({"\"\\\"","","end\\","\"start","nul)") + '\0' + R"(byte"})");
}

TEST(PgSql, BigintArrays) {
  EXPECT_EQ(bigintArrayLiteral({}), "{}");
  EXPECT_EQ(bigintArrayLiteral({1, -2, 9007199254740993}), "{1,-2,9007199254740993}");
}

TEST(PgSql, VectorsRoundTripExactly) {
  std::vector<float> v = {0.1f, -2.5f, 1e-7f, 3.4028235e38f, 0.0f};
  EXPECT_EQ(vectorLiteral({1.0f, 0.5f}), "[1,0.5]");
  EXPECT_EQ(realArrayLiteral({1.0f, 0.5f}), "{1,0.5}");
  EXPECT_EQ(parseFloatList(vectorLiteral(v)), v);
  EXPECT_EQ(parseFloatList(realArrayLiteral(v)), v);
  EXPECT_TRUE(parseFloatList("").empty());
  EXPECT_TRUE(parseFloatList("[]").empty());
}

TEST(PgSql, TsQueriesAreWordsJoinedWithOrAndCannotInjectOperators) {
  EXPECT_EQ(tsQueryText("Email subject-lines, \"best\" practices!"), "email | subject | lines | best | practices");
  EXPECT_EQ(tsQueryText("a & !b | (c:*) <-> d"), "");  // single letters and operators only
  EXPECT_EQ(tsQueryText("it's email's EMAIL"), "it | email");
  EXPECT_EQ(tsQueryText("   "), "");
}

TEST(PgSql, SqlStatesMapToCanonicalCodes) {
  EXPECT_EQ(statusForSqlState("23505", "dup").code(), Code::AlreadyExists);
  EXPECT_EQ(statusForSqlState("57014", "timeout").code(), Code::DeadlineExceeded);
  EXPECT_EQ(statusForSqlState("08006", "gone").code(), Code::Unavailable);
  EXPECT_EQ(statusForSqlState("57P01", "admin shutdown").code(), Code::Unavailable);
  EXPECT_EQ(statusForSqlState("40001", "serialization").code(), Code::Unavailable);
  EXPECT_EQ(statusForSqlState("22P02", "bad text").code(), Code::InvalidArgument);
  EXPECT_EQ(statusForSqlState("3D000", "no database").code(), Code::FailedPrecondition);
  EXPECT_EQ(statusForSqlState("42P01", "no table").code(), Code::Internal);
}

TEST(PgSql, ExceptionsBecomeStatusesThatSayWhere) {
  Status broken = guarded("save checkpoint", []() -> Status { throw pqxx::broken_connection("server closed the connection"); });
  EXPECT_EQ(broken.code(), Code::Unavailable);
  EXPECT_NE(broken.message().find("save checkpoint"), std::string::npos);
  EXPECT_NE(broken.message().find("server closed"), std::string::npos);
  Status unique = guarded("put", []() -> Status { throw pqxx::unique_violation("duplicate key", "INSERT", "23505"); });
  EXPECT_EQ(unique.code(), Code::AlreadyExists);
  Result<int> other = guarded("x", []() -> Result<int> { throw std::runtime_error("boom"); });
  EXPECT_EQ(other.status().code(), Code::Internal);
}

TEST(PgPool, UrlsLosePasswordsInMessages) {
  EXPECT_EQ(redactedUrl("postgresql://mx:s3cret@db.example.com:5432/mx"), "postgresql://mx:***@db.example.com:5432/mx");
  EXPECT_EQ(redactedUrl("postgres://mx@localhost/mx"), "postgres://mx@localhost/mx");
  EXPECT_EQ(redactedUrl("host=db user=mx password=s3cret dbname=mx"), "host=db user=mx password=*** dbname=mx");
  EXPECT_EQ(redactedUrl("host=db password='a b' dbname=mx"), "host=db password=*** dbname=mx");
}

TEST(PgPool, AnUnreachableServerIsUnavailableAndSaysWhere) {
  PoolConfig config;
  config.url = "postgresql://mx:s3cret@127.0.0.1:1/mx?connect_timeout=2";
  auto pool = Pool::open(config);
  ASSERT_FALSE(pool.isOk());
  EXPECT_EQ(pool.status().code(), Code::Unavailable);
  EXPECT_NE(pool.status().message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_EQ(pool.status().message().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace mx::pg
