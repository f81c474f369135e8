// The server's default limit of chat turns in progress, from its descriptor limit.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include "runtime/descriptor_limit.hpp"

namespace mx::host {
namespace {

TEST(DescriptorLimit, ThreeDescriptorsPerTurnAfterATenthKeptBack) {
  EXPECT_EQ(turnsWithin(20000), (20000u - 2000u) / 3u);  // this project's CI container: 6,000 turns
  EXPECT_EQ(turnsWithin(65536), (65536u - 6553u) / 3u);
  EXPECT_EQ(turnsWithin(1024), (1024u - 256u) / 3u);     // at least 256 kept back
  EXPECT_EQ(turnsWithin(100), 1u);  // never none: a tiny limit still serves one turn at a time
}

TEST(DescriptorLimit, TheSoftLimitIsRaisedToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  auto limit = raiseDescriptorLimit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  EXPECT_EQ(descriptorLimit(), limit);
  if (before.rlim_max == RLIM_INFINITY) {
    EXPECT_FALSE(limit.has_value());
  } else {
    ASSERT_TRUE(limit.has_value());
    EXPECT_EQ(*limit, static_cast<uint64_t>(before.rlim_max));
  }
}

TEST(DescriptorLimit, OpenDescriptorsAreCounted) {
  size_t before = openDescriptorCount();
  EXPECT_GE(before, 3u);  // at least stdin, stdout, stderr
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  EXPECT_EQ(openDescriptorCount(), before + 2);
  close(ends[0]);
  close(ends[1]);
  EXPECT_EQ(openDescriptorCount(), before);
}

}  // namespace
}  // namespace mx::host
