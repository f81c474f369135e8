#include "openai_embedder.hpp"

#include <gtest/gtest.h>

#include "mx/testing/fakes.hpp"

namespace mx::openai {
namespace {

TEST(OpenAIEmbeddings, DecodesBase64LittleEndianFloats) {
  // 1.0f = 00 00 80 3f, -2.5f = 00 00 20 c0
  auto floats = decodeBase64Floats("AACAPwAAIMA=");
  ASSERT_EQ(floats.size(), 2u);
  EXPECT_FLOAT_EQ(floats[0], 1.0f);
  EXPECT_FLOAT_EQ(floats[1], -2.5f);
}

TEST(OpenAIEmbeddings, ParsesByIndexWhateverTheOrder) {
  auto parsed = parseEmbeddings(R"({"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.5,0.25]},{"object":"embedding","index":0,"embedding":"AACAPwAAIMA="}],"model":"m","usage":{"prompt_tokens":3,"total_tokens":3}})", 2);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
  EXPECT_FLOAT_EQ((*parsed)[0][1], -2.5f);
  EXPECT_FLOAT_EQ((*parsed)[1][0], 0.5f);
  EXPECT_FALSE(parseEmbeddings(R"({"data":[{"index":0,"embedding":[1]}]})", 2).isOk());
  EXPECT_FALSE(parseEmbeddings("<html>", 1).isOk());
}

TEST(OpenAIEmbeddings, BatchesByCountAndTokens) {
  testing::RecordingLogger logger;
  EmbedderConfig config;
  config.batchSize = 3;
  config.maxBatchTokens = 1000;
  OpenAIEmbedder embedder(config, nullptr, logger);
  std::vector<std::string> texts(7, "short");
  auto batches = embedder.plan(texts);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::pair<size_t, size_t>{0, 3}));
  EXPECT_EQ(batches[2], (std::pair<size_t, size_t>{6, 7}));
  std::vector<std::string> big = {std::string(1500, 'a'), std::string(1500, 'b'), "c"};
  auto byTokens = embedder.plan(big);
  ASSERT_EQ(byTokens.size(), 2u);  // 501 + 501 tokens exceed 1000
  EXPECT_EQ(byTokens[1], (std::pair<size_t, size_t>{1, 3}));
}

TEST(OpenAIEmbeddings, RefusesEmptyAndOversizedInputs) {
  testing::RecordingLogger logger;
  OpenAIEmbedder embedder(EmbedderConfig{}, nullptr, logger);
  EXPECT_EQ(embedder.embed({"ok", ""}, {}).status().code(), Code::InvalidArgument);
  EXPECT_EQ(embedder.embed({std::string(40000, 'x')}, {}).status().code(), Code::InvalidArgument);
  EXPECT_EQ(embedder.dimensions(), 1536);
}

}  // namespace
}  // namespace mx::openai
