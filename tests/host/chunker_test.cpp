// Structure-aware chunking: headings, paragraphs, overlap, HTML.
#include <gtest/gtest.h>

#include "knowledge/chunker.hpp"

namespace mx::host::knowledge {
namespace {

TEST(Chunker, SplitsBySectionsAndKeepsHeadingPaths) {
  std::string doc = "# Guide\n\nIntro paragraph.\n\n## Email\n\nSubject lines matter.\n\nKeep them short.\n\n## Ads\n\nOne benefit per ad.";
  auto chunks = chunkDocument(doc, "markdown", {1200, 0});
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].heading, "Guide");
  EXPECT_EQ(chunks[1].heading, "Guide > Email");
  EXPECT_EQ(chunks[1].text, "Subject lines matter.\n\nKeep them short.");
  EXPECT_EQ(chunks[2].heading, "Guide > Ads");
}

TEST(Chunker, PacksParagraphsWithOverlapAndCutsLongOnesAtSentences) {
  std::string paragraph = "This sentence is about forty characters. ";
  std::string doc;
  for (int i = 0; i < 10; ++i) doc += paragraph + paragraph + "\n\n";
  auto chunks = chunkDocument(doc, "text", {300, 60});
  ASSERT_GT(chunks.size(), 2u);
  for (const auto& c : chunks) EXPECT_LE(c.text.size(), 300u + 60u + 4u);
  // The start of each chunk repeats the end of the previous one.
  std::string tail = chunks[0].text.substr(chunks[0].text.size() - 30);
  EXPECT_NE(chunks[1].text.find(tail.substr(tail.find(' ') + 1)), std::string::npos);
  std::string huge(5000, 'a');
  auto cut = chunkDocument(huge, "text", {1000, 0});
  EXPECT_EQ(cut.size(), 5u);
}

TEST(Chunker, HtmlBecomesTextWithHeadings) {
  std::string html = "<html><head><style>p{}</style><script>var x=1;</script></head><body><h1>Brand</h1><p>We speak &amp; write <b>plainly</b>.</p>"
                     "<h2>Colours</h2><ul><li>Blue</li><li>Green</li></ul></body></html>";
  auto chunks = chunkDocument(html, "html", {1200, 0});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].heading, "Brand");
  EXPECT_EQ(chunks[0].text, "We speak & write plainly.");
  EXPECT_EQ(chunks[1].heading, "Brand > Colours");
  EXPECT_NE(chunks[1].text.find("Blue"), std::string::npos);
  EXPECT_EQ(htmlToText("<script>alert(1)</script>ok").find("alert"), std::string::npos);
}

}  // namespace
}  // namespace mx::host::knowledge
