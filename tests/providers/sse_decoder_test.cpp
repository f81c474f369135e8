// The SSE decoder against the WHATWG rules, with the input split at every byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "mock_http_server.hpp"
#include "net/sse_decoder.hpp"

namespace mx::host {
namespace {

struct Decoded {
  std::string event, data, id;
  bool operator==(const Decoded& o) const { return event == o.event && data == o.data && id == o.id; }
};

std::vector<Decoded> decode(const std::vector<std::string>& chunks, bool* pending = nullptr) {
  SseDecoder decoder;
  std::vector<Decoded> out;
  std::string buffer;
  for (const auto& chunk : chunks) {
    buffer = chunk;  // as libcurl's receive buffer: overwritten once feed returns
    decoder.feed(buffer, [&](const SseEvent& e) {
      out.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
    });
    std::fill(buffer.begin(), buffer.end(), '#');
  }
  if (pending) *pending = decoder.hasPendingEvent();
  return out;
}

const std::string kTricky =
    "\xEF\xBB\xBF: comment\r\n"
    "event: first\r\n"
    "data: {\r\n"
    "data: \"foo\":\n"
    "data: \r"
    "data:\n"
    "data: true}\n"
    "id: 7\n"
    "retry: 100\n"
    "\n"
    "data:  two spaces\r\n"
    "unknown: field\r\n"
    "data\r\n"
    "\r\n"
    "event: empty\n"
    "\n"
    "data: caf\xC3\xA9 \xE2\x82\xAC\n"
    "\n"
    "data: never dispatched";

TEST(SseDecoder, FollowsTheSpec) {
  bool pending = false;
  auto events = decode({kTricky}, &pending);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], (Decoded{"first", "{\n\"foo\":\n\n\ntrue}", "7"}));
  EXPECT_EQ(events[1], (Decoded{"message", " two spaces\n", "7"}));
  EXPECT_EQ(events[2], (Decoded{"message", "caf\xC3\xA9 \xE2\x82\xAC", "7"}));
  EXPECT_TRUE(pending);
}

TEST(SseDecoder, EverySplitGivesTheSameEvents) {
  auto whole = decode({kTricky});
  for (size_t cut = 0; cut <= kTricky.size(); ++cut) {
    EXPECT_EQ(decode({kTricky.substr(0, cut), kTricky.substr(cut)}), whole) << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : kTricky) bytes.emplace_back(1, c);
  EXPECT_EQ(decode(bytes), whole);
}

TEST(SseDecoder, CrAtTheEndOfAChunkThenLfIsOneLineEnd) {
  auto events = decode({"data: a\r", "\n\r", "\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a");
}

TEST(SseDecoder, EveryFixtureDecodesIdenticallyUnderRandomSplits) {
  std::mt19937 random(12345);
  for (const char* name : {"anthropic-tool-use-padded.sse", "anthropic-thinking.sse", "openai-chat-tool-call-gpt-4o-mini.sse",
                           "openai-chat-parallel-tool-calls.sse"}) {
    std::string body = mx::test::readFile(std::string(MX_FIXTURES_DIR) + "/" + name);
    auto whole = decode({body});
    ASSERT_GT(whole.size(), 3u) << name;
    for (int round = 0; round < 300; ++round) {
      std::vector<size_t> offsets;
      int pieces = 1 + static_cast<int>(random() % 40);
      for (int i = 0; i < pieces; ++i) offsets.push_back(random() % body.size());
      std::sort(offsets.begin(), offsets.end());
      ASSERT_EQ(decode(mx::test::splitAt(body, offsets)), whole) << name << " round " << round;
    }
  }
}

}  // namespace
}  // namespace mx::host
