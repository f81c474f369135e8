// Every Anthropic fixture, fed through the host's SSE decoder and the
// provider's stream accumulator in every two-way split of the byte stream and
// in many random multi-way splits, gives identical results.
#include <gtest/gtest.h>

#include <random>

#include "anthropic_stream.hpp"
#include "api_mock.hpp"
#include "net/sse_decoder.hpp"

namespace mx::anthropic {
namespace {

struct Observed : ChatObserver {
  std::string trace;  // every callback, in order
  void onTextDelta(std::string_view t) override { trace += "T(" + std::string(t) + ")"; }
  void onThinkingDelta(std::string_view t) override { trace += "K(" + std::string(t) + ")"; }
  void onToolCallStart(int i, std::string_view id, std::string_view n) override {
    trace += "S(" + std::to_string(i) + std::string(id) + std::string(n) + ")";
  }
  void onToolCallDelta(int i, std::string_view p) override { trace += "J(" + std::to_string(i) + std::string(p) + ")"; }
  void onComplete(const Status&, ChatResponse) override {}
};

struct Outcome {
  std::string trace;
  bool finished;
  std::string failure;
  Json response;
  bool operator==(const Outcome& o) const {
    return trace == o.trace && finished == o.finished && failure == o.failure && response == o.response;
  }
};

Json describe(const ChatResponse& r) {
  Json blocks = Json::array();
  for (const auto& b : r.message.content) {
    blocks.push_back({{"type", static_cast<int>(b.type)}, {"text", b.text}, {"id", b.id}, {"name", b.name},
                      {"input", b.input}, {"signature", b.signature}});
  }
  return {{"id", r.id}, {"model", r.model}, {"stop", static_cast<int>(r.stopReason)}, {"blocks", blocks},
          {"usage", {r.usage.inputTokens, r.usage.outputTokens, r.usage.cacheWrite5mTokens, r.usage.cacheWrite1hTokens,
                     r.usage.cacheReadTokens}},
          {"chars", r.streamedChars}};
}

Outcome run(const std::vector<std::string>& chunks) {
  Observed observer;
  StreamAccumulator accumulator(&observer, CacheTtl::FiveMinutes);
  host::SseDecoder decoder;
  for (const auto& chunk : chunks) {
    decoder.feed(chunk, [&](const SseEvent& e) { accumulator.onEvent(e); });
  }
  bool finished = accumulator.finished();
  std::string failure = accumulator.failure().toString();
  return {observer.trace, finished, failure, describe(accumulator.takeResponse())};
}

const std::vector<std::string> kFixtures = {
    "anthropic-text-basic.sse",     "anthropic-tool-use.sse",      "anthropic-tool-use-padded.sse",
    "anthropic-tool-use-max-tokens-partial.sse", "anthropic-cache-write.sse", "anthropic-cache-read.sse",
    "anthropic-thinking.sse",       "anthropic-error-overloaded.sse"};

TEST(AnthropicReplay, EveryTwoWaySplitMatchesTheWholeStream) {
  for (const auto& name : kFixtures) {
    std::string body = mx::test::sseFixture(name);
    Outcome whole = run({body});
    for (size_t cut = 1; cut < body.size(); ++cut) {
      ASSERT_EQ(run({body.substr(0, cut), body.substr(cut)}), whole) << name << " cut at " << cut;
    }
  }
}

TEST(AnthropicReplay, RandomMultiWaySplitsMatchTheWholeStream) {
  std::mt19937 random(4242);
  for (const auto& name : kFixtures) {
    std::string body = mx::test::sseFixture(name);
    Outcome whole = run({body});
    for (int round = 0; round < 200; ++round) {
      std::vector<size_t> offsets;
      for (int i = 0, n = 1 + static_cast<int>(random() % 64); i < n; ++i) offsets.push_back(random() % body.size());
      std::sort(offsets.begin(), offsets.end());
      ASSERT_EQ(run(mx::test::splitAt(body, offsets)), whole) << name << " round " << round;
    }
  }
}

TEST(AnthropicReplay, FixturesMeanWhatTheRecordingsSay) {
  Outcome text = run({mx::test::sseFixture("anthropic-text-basic.sse")});
  EXPECT_TRUE(text.finished);
  EXPECT_EQ(text.trace, "T(Hello)T( there)T(!)");

  Outcome tool = run({mx::test::sseFixture("anthropic-tool-use.sse")});
  EXPECT_EQ(tool.response["blocks"][1]["input"], Json({{"location", "Paris"}}));
  EXPECT_EQ(tool.response["usage"], Json({377, 65, 0, 0, 0}));

  Outcome padded = run({mx::test::sseFixture("anthropic-tool-use-padded.sse")});
  EXPECT_TRUE(padded.finished);
  EXPECT_EQ(padded.response["blocks"].back()["input"]["location"], "San Francisco, CA");

  Outcome write = run({mx::test::sseFixture("anthropic-cache-write.sse")});
  EXPECT_EQ(write.response["usage"][2], 1031);  // 5-minute cache write
  Outcome read = run({mx::test::sseFixture("anthropic-cache-read.sse")});
  EXPECT_EQ(read.response["usage"][4], 1031);   // cache read

  Outcome partial = run({mx::test::sseFixture("anthropic-tool-use-max-tokens-partial.sse")});
  EXPECT_EQ(partial.response["stop"], static_cast<int>(StopReason::MaxTokens));
  EXPECT_TRUE(partial.response["blocks"].back()["input"].contains("_incomplete_json"));

  Outcome thinking = run({mx::test::sseFixture("anthropic-thinking.sse")});
  EXPECT_EQ(thinking.response["blocks"][0]["type"], static_cast<int>(BlockType::Thinking));
  EXPECT_FALSE(thinking.response["blocks"][0]["signature"].get<std::string>().empty());
  EXPECT_EQ(thinking.response["usage"][1], 282);

  Outcome overloaded = run({mx::test::sseFixture("anthropic-error-overloaded.sse")});
  EXPECT_FALSE(overloaded.finished);
  EXPECT_EQ(overloaded.failure, "unavailable: anthropic stream error overloaded_error: Overloaded");
}

}  // namespace
}  // namespace mx::anthropic
