#include "memory_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "mx/plugin.hpp"
#include "mx/testing/fakes.hpp"

using namespace std::chrono_literals;
using mx::plugins::MemoryCache;

namespace {

struct ManualClock {
  std::chrono::steady_clock::time_point now{};
  MemoryCache::Clock function() {
    return [this] { return now; };
  }
};

TEST(MemoryCache, StoresAndReturnsValues) {
  MemoryCache cache(1 << 20, 1000);
  ASSERT_TRUE(cache.set("k", "v", 1s).isOk());
  auto value = cache.get("k");
  ASSERT_TRUE(value.isOk());
  ASSERT_TRUE(value->has_value());
  EXPECT_EQ(**value, "v");
  EXPECT_FALSE(cache.get("missing")->has_value());
}

TEST(MemoryCache, EntriesExpireAfterTheirTtl) {
  ManualClock clock;
  MemoryCache cache(1 << 20, 1000, clock.function());
  ASSERT_TRUE(cache.set("short", "a", 100ms).isOk());
  ASSERT_TRUE(cache.set("long", "b", 10s).isOk());
  clock.now += 150ms;
  EXPECT_FALSE(cache.get("short")->has_value());
  EXPECT_TRUE(cache.get("long")->has_value());
  EXPECT_EQ(cache.entryCount(), 1u);
}

TEST(MemoryCache, EvictsLeastRecentlyUsedWhenOverMemoryBound) {
  MemoryCache cache(4096, 1000);
  std::string value(1000, 'x');
  ASSERT_TRUE(cache.set("a", value, 10s).isOk());
  ASSERT_TRUE(cache.set("b", value, 10s).isOk());
  ASSERT_TRUE(cache.set("c", value, 10s).isOk());
  ASSERT_TRUE(cache.get("a")->has_value());  // a is now the most recent
  ASSERT_TRUE(cache.set("d", value, 10s).isOk());
  EXPECT_TRUE(cache.get("a")->has_value());
  EXPECT_FALSE(cache.get("b")->has_value());
  EXPECT_LE(cache.bytesUsed(), 4096u);
}

TEST(MemoryCache, EvictsWhenOverEntryBound) {
  MemoryCache cache(1 << 20, 2);
  ASSERT_TRUE(cache.set("a", "1", 10s).isOk());
  ASSERT_TRUE(cache.set("b", "2", 10s).isOk());
  ASSERT_TRUE(cache.set("c", "3", 10s).isOk());
  EXPECT_EQ(cache.entryCount(), 2u);
  EXPECT_FALSE(cache.get("a")->has_value());
}

TEST(MemoryCache, RejectsValuesLargerThanTheWholeCache) {
  MemoryCache cache(4096, 10);
  auto status = cache.set("big", std::string(8192, 'x'), 1s);
  EXPECT_EQ(status.code(), mx::Code::ResourceExhausted);
}

TEST(MemoryCache, RejectsNonPositiveTtl) {
  MemoryCache cache(4096, 10);
  EXPECT_EQ(cache.set("k", "v", 0ms).code(), mx::Code::InvalidArgument);
}

TEST(MemoryCache, OverwriteReplacesValueAndAccounting) {
  MemoryCache cache(1 << 20, 10);
  ASSERT_TRUE(cache.set("k", std::string(100, 'a'), 10s).isOk());
  size_t before = cache.bytesUsed();
  ASSERT_TRUE(cache.set("k", std::string(10, 'b'), 10s).isOk());
  EXPECT_EQ(cache.bytesUsed(), before - 90);
  EXPECT_EQ(**cache.get("k"), std::string(10, 'b'));
}

TEST(MemoryCache, ErasePrefixDropsOnlyMatchingKeys) {
  MemoryCache cache(1 << 20, 100);
  for (const char* key : {"knowledge:u1:a", "knowledge:u1:b", "knowledge:u2:a", "canon:u1"}) {
    ASSERT_TRUE(cache.set(key, "v", 10s).isOk());
  }
  ASSERT_TRUE(cache.erasePrefix("knowledge:u1:").isOk());
  EXPECT_FALSE(cache.get("knowledge:u1:a")->has_value());
  EXPECT_FALSE(cache.get("knowledge:u1:b")->has_value());
  EXPECT_TRUE(cache.get("knowledge:u2:a")->has_value());
  EXPECT_TRUE(cache.get("canon:u1")->has_value());
  ASSERT_TRUE(cache.erase("canon:u1").isOk());
  EXPECT_EQ(cache.entryCount(), 1u);
}

TEST(MemoryCache, ConcurrentUseKeepsAccountingConsistent) {
  MemoryCache cache(64 * 1024, 100000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = "k" + std::to_string((i * 7 + t) % 300);
        (void)cache.set(key, std::string(i % 200, 'x'), 10s);
        (void)cache.get(key);
        if (i % 50 == 0) {
          (void)cache.erasePrefix("k1");
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_LE(cache.bytesUsed(), 64u * 1024);
}

// The front door as the host sees it: the factory validates its config.
class CapturingRegistrar final : public mx::Registrar {
 public:
  std::string_view pluginName() const override { return "cache_memory"; }
  mx::Status addModelProvider(mx::Factory<mx::ModelProvider>) override { return mx::Status::ok(); }
  mx::Status addTool(mx::Factory<mx::Tool>) override { return mx::Status::ok(); }
  mx::Status addCacheBackend(mx::Factory<mx::CacheBackend> f) override {
    factories.push_back(std::move(f));
    return mx::Status::ok();
  }
  mx::Status addStore(mx::Factory<mx::Store>) override { return mx::Status::ok(); }
  mx::Status addEmbedder(mx::Factory<mx::Embedder>) override { return mx::Status::ok(); }
  mx::Status addTracer(mx::Factory<mx::Tracer>) override { return mx::Status::ok(); }
  mx::Status addNodeKind(mx::Factory<mx::Node>) override { return mx::Status::ok(); }
  mx::Status addRouter(mx::Factory<mx::Router>) override { return mx::Status::ok(); }
  std::vector<mx::Factory<mx::CacheBackend>> factories;
};

TEST(CacheMemoryPlugin, RegistersTheMemoryFactoryWithItsSchema) {
  const mx_plugin_abi_block* block = mx_plugin_abi();
  EXPECT_STREQ(block->name, "cache_memory");
  CapturingRegistrar registrar;
  mx::Status status;
  mx_plugin_register(&registrar, &status);
  ASSERT_TRUE(status.isOk()) << status.toString();
  ASSERT_EQ(registrar.factories.size(), 1u);
  const auto& factory = registrar.factories[0];
  EXPECT_EQ(factory.name, "memory");
  ASSERT_NE(factory.schema.find("max_bytes"), nullptr);

  mx::testing::FakeComponentContext good(mx::Json{{"max_bytes", 1 << 20}, {"max_entries", 100}});
  auto created = factory.create(good);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_TRUE((*created)->set("a", "b", 1s).isOk());

  mx::testing::FakeComponentContext tooSmall(mx::Json{{"max_bytes", 10}, {"max_entries", 100}});
  auto refused = factory.create(tooSmall);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("max_bytes"), std::string::npos);
}

}  // namespace
