// The session cache layer with the SDK's fake caches.
#include <gtest/gtest.h>

#include "chat/session_cache.hpp"
#include "mx/testing/fakes.hpp"

namespace mx::host::chat {
namespace {

TEST(SessionCache, RoundTripsAStatePerUserAndConversation) {
  auto cache = std::make_shared<testing::InMemoryCache>();
  SessionCache session(cache, std::chrono::seconds(1800));
  EXPECT_FALSE(session.load("alice", "c1"));
  session.save("alice", "c1", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  auto state = session.load("alice", "c1");
  ASSERT_TRUE(state);
  EXPECT_EQ((*state)["messages"][0]["content"], "hi");
  EXPECT_FALSE(session.load("bob", "c1"));  // keyed by user too
  EXPECT_EQ(session.hits(), 1u);
  EXPECT_EQ(session.misses(), 2u);
  session.forget("alice", "c1");
  EXPECT_FALSE(session.load("alice", "c1"));
}

TEST(SessionCache, AnUnreadableEntryOrAnOutageIsAMiss) {
  auto cache = std::make_shared<testing::InMemoryCache>();
  ASSERT_TRUE(cache->set(SessionCache::key("alice", "c1"), "{not json", std::chrono::seconds(60)).isOk());
  SessionCache session(cache, std::chrono::seconds(60));
  EXPECT_FALSE(session.load("alice", "c1"));
  auto failing = std::make_shared<testing::FaultInjectingCache>(std::make_shared<testing::InMemoryCache>());
  failing->failWith(unavailableError("redis down"));
  SessionCache down(failing, std::chrono::seconds(60));
  down.save("alice", "c1", Json::object());  // no throw, no error surfaced
  EXPECT_FALSE(down.load("alice", "c1"));
}

TEST(SessionCache, WithoutACacheTheLayerIsOff) {
  SessionCache off(nullptr, std::chrono::seconds(60));
  EXPECT_FALSE(off.enabled());
  off.save("alice", "c1", Json::object());
  EXPECT_FALSE(off.load("alice", "c1"));
}

}  // namespace
}  // namespace mx::host::chat
