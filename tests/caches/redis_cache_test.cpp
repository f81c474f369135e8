// cache_redis against a real redis-server started by the test (on a free
// loopback port, no persistence), including a Redis stopped mid-test.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "mx/testing/fakes.hpp"
#include "redis_server.hpp"
#include "redis_cache.hpp"

namespace mx::test {
namespace {

using namespace std::chrono_literals;

redis::RedisConfig configFor(int port) {
  redis::RedisConfig config;
  config.port = port;
  config.keyPrefix = "test:";
  config.retryPause = 200ms;
  return config;
}

TEST(RedisCache, GetSetTtlAndErase) {
  RedisServer server(freePort());
  redis::RedisCache cache(configFor(server.port()), nullptr);
  ASSERT_TRUE(cache.health().isOk());
  EXPECT_FALSE(cache.get("missing")->has_value());
  ASSERT_TRUE(cache.set("k", std::string("bin\0ary", 7), 10s).isOk());
  EXPECT_EQ(**cache.get("k"), std::string("bin\0ary", 7));
  ASSERT_TRUE(cache.set("short", "v", 100ms).isOk());
  std::this_thread::sleep_for(250ms);
  EXPECT_FALSE(cache.get("short")->has_value());
  ASSERT_TRUE(cache.erase("k").isOk());
  EXPECT_FALSE(cache.get("k")->has_value());
  EXPECT_EQ(cache.set("x", "y", 0ms).code(), Code::InvalidArgument);
}

TEST(RedisCache, ErasePrefixScansAndUnlinksOnlyMatchingKeys) {
  RedisServer server(freePort());
  redis::RedisCache cache(configFor(server.port()), nullptr);
  for (int i = 0; i < 1200; ++i) ASSERT_TRUE(cache.set("knowledge:u1:" + std::to_string(i), "v", 60s).isOk());
  ASSERT_TRUE(cache.set("knowledge:u2:a", "v", 60s).isOk());
  ASSERT_TRUE(cache.set("knowledge:u1*weird", "v", 60s).isOk());
  ASSERT_TRUE(cache.erasePrefix("knowledge:u1:").isOk());
  EXPECT_FALSE(cache.get("knowledge:u1:5")->has_value());
  EXPECT_FALSE(cache.get("knowledge:u1:1199")->has_value());
  EXPECT_TRUE(cache.get("knowledge:u2:a")->has_value());
  EXPECT_TRUE(cache.get("knowledge:u1*weird")->has_value());  // glob characters are escaped
}

TEST(RedisCache, ConcurrentUse) {
  RedisServer server(freePort());
  redis::RedisCache cache(configFor(server.port()), nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 200; ++i) {
        std::string key = "c" + std::to_string(t) + ":" + std::to_string(i);
        EXPECT_TRUE(cache.set(key, key, 10s).isOk());
        EXPECT_EQ(**cache.get(key), key);
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(RedisCache, AnOutageIsFastUnavailableAndRecovers) {
  RedisServer server(freePort());
  testing::RecordingLogger logger;
  redis::RedisCache cache(configFor(server.port()), &logger);
  ASSERT_TRUE(cache.set("k", "v", 60s).isOk());
  server.stop();
  auto during = cache.get("k");
  EXPECT_EQ(during.status().code(), Code::Unavailable) << during.status().toString();
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache.get("k").status().code(), Code::Unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);  // fail-fast while paused, no timeout per call
  EXPECT_EQ(cache.health().code(), Code::Unavailable);
  EXPECT_TRUE(logger.contains("redis 127.0.0.1"));
  server.start();
  std::this_thread::sleep_for(250ms);
  ASSERT_TRUE(cache.health().isOk());
  EXPECT_TRUE(cache.set("k2", "v", 60s).isOk());
  EXPECT_EQ(**cache.get("k2"), "v");
}

TEST(RedisCache, ANeverReachableRedisIsUnavailableNotAHang) {
  redis::RedisCache cache(configFor(freePort()), nullptr);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(cache.get("k").status().code(), Code::Unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

}  // namespace
}  // namespace mx::test
