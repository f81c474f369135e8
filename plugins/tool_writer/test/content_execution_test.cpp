#include "content_execution.hpp"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "mx/testing/fakes.hpp"
#include "mx_common/artifact_markers.hpp"

namespace mx::writer {
namespace {

class OneModel final : public ModelCatalogue {
 public:
  explicit OneModel(std::shared_ptr<testing::FakeModelProvider> p) : provider(std::move(p)) {
    info.id = "writer-1";
    info.tiers = {2};
    info.defaultFor = {2};
  }
  std::vector<ModelInfo> list() const override { return {info}; }
  const ModelInfo* find(std::string_view id) const override { return id == info.id ? &info : nullptr; }
  const ModelInfo* defaultFor(int) const override { return &info; }
  double costUsd(const ModelInfo&, const Usage&) const override { return 0; }
  void chat(std::string_view, ChatRequest r, std::shared_ptr<ChatObserver> o, CancellationToken c) override {
    provider->chat(std::move(r), std::move(o), std::move(c));
  }
  std::shared_ptr<testing::FakeModelProvider> provider;
  ModelInfo info;
};

Json brief() { return {{"contentType", "email"}, {"objective", "Spring sale"}, {"targetAudience", "parents"}}; }

TEST(ContentExecution, CountsWordsAsAStreamSplitsThem) {
  EXPECT_EQ(countWords(""), 0);
  EXPECT_EQ(countWords(" \t\n\v\f\r "), 0);
  EXPECT_EQ(countWords("one"), 1);
  EXPECT_EQ(countWords("  Spring\tsale,\nnow\r\n\f20%\voff  "), 5);
  EXPECT_EQ(countWords("caf\xc3\xa9 \xe2\x80\x94 ok"), 3);  // non-ASCII bytes belong to words
  std::mt19937 random(7);
  const std::string alphabet = std::string("ab ,\t\n\v\f\r\x1f\x7f\x80\xff") + '\0';
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (size_t i = random() % 100; i > 0; --i) text.push_back(alphabet[random() % alphabet.size()]);  // several 16-byte steps
    std::istringstream in(text);
    int64_t expected = 0;
    for (std::string word; in >> word;) ++expected;
    ASSERT_EQ(countWords(text), expected) << "round " << round;
  }
}

TEST(ContentExecution, StreamsArtifactEventsAndReturnsTheWrappedArtifact) {
  auto provider = std::make_shared<testing::FakeModelProvider>(
      std::vector<testing::ScriptedReply>{{{"Subject: Spring", " is here\n\nHi ", "there"}, {}, StopReason::EndTurn, {}, {}}});
  ContentExecutionTool tool({"", "Brief: {{brief}}", "system", 1000}, std::make_shared<OneModel>(provider));
  testing::RecordingEventSink sink;
  auto context = std::make_shared<ToolContext>();
  context->events = &sink;
  Result<Json> result = internalError("not called");
  tool.invoke(brief(), context, [&](Result<Json> r) { result = std::move(r); });
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ((*result)["wordCount"], 6);
  std::string id = (*result)["artifactId"];
  EXPECT_EQ(id.rfind("art_", 0), 0u);
  EXPECT_EQ((*result)["artifact"], "<artifact id=\"" + id + "\" type=\"email\">\nSubject: Spring is here\n\nHi there\n</artifact>");
  EXPECT_FALSE(result->contains("content"));  // the text once: every later Tier 1 call sends the result again
  EXPECT_FALSE(result->contains("xml"));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].json(), Json({{"type", "start"}, {"artifactId", id}, {"metadata", {{"contentType", "email"}}}}));
  EXPECT_EQ(events[1].json()["type"], "delta");
  EXPECT_EQ(events[4].json()["metadata"]["wordCount"], 6);
  auto prompt = provider->requests().at(0).messages.at(0).content.at(0).text;
  EXPECT_EQ(prompt.rfind("Brief: <brief>{", 0), 0u);
  EXPECT_NE(prompt.find("\"objective\": \"Spring sale\""), std::string::npos);
}

TEST(ContentExecution, AFailureMidwayMarksTheArtifactIncomplete) {
  auto provider = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{"Subject: Spr"}, {}, StopReason::None, {}, unavailableError("connection reset")}});
  ContentExecutionTool tool({"", "{{brief}}", "", 100}, std::make_shared<OneModel>(provider));
  testing::RecordingEventSink sink;
  auto context = std::make_shared<ToolContext>();
  context->events = &sink;
  Result<Json> result = Json();
  tool.invoke(brief(), context, [&](Result<Json> r) { result = std::move(r); });
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("failed after 12 characters"), std::string::npos) << result.status().message();
  auto end = sink.events().back().json();
  EXPECT_EQ(end["type"], "end");
  EXPECT_EQ(end["metadata"]["incomplete"], true);
}

TEST(ContentExecution, StatePreferenceChoosesTheWriter) {
  ContentExecutionTool tool({}, std::make_shared<OneModel>(std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{})));
  Json state = {{"modelPreference", {{"tier2", "gpt-4o-mini"}}}};
  EXPECT_EQ(tool.modelFor(&state), "gpt-4o-mini");
  EXPECT_EQ(tool.modelFor(nullptr), "writer-1");
}

TEST(ArtifactMarkers, WrapAndUnwrapGiveTheTextBack) {
  for (std::string text : {"Subject: Hi\n\nBody", "", "\n", "ends with a break\n", "<artifact> inside </artifact>"}) {
    std::string wrapped = common::wrapArtifact("art_1", "email", text);
    EXPECT_EQ(common::unwrapArtifact(wrapped), text) << wrapped;
    EXPECT_EQ(common::unwrapArtifact("\n  " + wrapped + "\n"), text) << "white space around it";
  }
  EXPECT_EQ(common::unwrapArtifact("<artifact>\n</artifact>"), "");
}

TEST(ArtifactMarkers, AttributeValuesAreEscaped) {
  EXPECT_EQ(common::wrapArtifact("art_1", "a\"b&c<d", "x"), "<artifact id=\"art_1\" type=\"a&quot;b&amp;c&lt;d\">\nx\n</artifact>");
  std::string odd = common::wrapArtifact("art_1", "a>\nb", "text");  // a '>' and a line break in a value
  EXPECT_EQ(common::unwrapArtifact(odd), "text") << odd;
}

TEST(ArtifactMarkers, TextThatIsNotOneWrappedArtifactIsLeftAsItIs) {
  for (std::string text : {"plain text", "<artifact id=\"a\">\nno closing marker", "<artifacts>\nx\n</artifact>",
                           "before <artifact id=\"a\">\nx\n</artifact>", "<artifact id=\"a\">x</artifact>", "<artifact"}) {
    EXPECT_EQ(common::unwrapArtifact(text), text);
  }
}

}  // namespace
}  // namespace mx::writer
