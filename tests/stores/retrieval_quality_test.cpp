// Retrieval quality on a small labelled set: hybrid search (local hashing
// embedder + SQLite FTS5, fused by RRF) must put the expected document in the
// top 3 for at least 90 % of the queries.
#include <gtest/gtest.h>

#include "hashing_embedder.hpp"
#include "hybrid_search.hpp"
#include "knowledge/chunker.hpp"
#include "process.hpp"
#include "sqlite_store.hpp"

namespace mx::test {
namespace {

struct Doc {
  std::string id, type, text;
};

const std::vector<Doc> kDocs = {
    {"email-handbook", "handbook", "# Email copywriting handbook\n\nSubject lines should stay under fifty characters and lead with the benefit. Preheaders extend the subject line. Every campaign has exactly one call to action button."},
    {"brand-voice", "brand-guidelines", "# Brand voice\n\nAcme speaks plainly, warmly and with confidence. Avoid hype words such as revolutionary or game-changing. Use the second person and short sentences."},
    {"persona-parents", "persona", "# Persona: busy parents\n\nParents aged 30 to 45 who shop on their phones late in the evening. They value saving time, free delivery and easy returns for school supplies."},
    {"product-shoes", "product", "# Trailblazer running shoes\n\nLightweight trail running shoes with a waterproof membrane and grippy lugs for muddy paths. Available in five colours, priced at 129 dollars."},
    {"ads-guide", "handbook", "# Paid social ad guide\n\nFacebook and Instagram ads need a hook in the first three words, one benefit, and a short call to action. Test two headlines per ad set."},
    {"video-style", "handbook", "# Video style guide\n\nShort videos open with a hook in the first three seconds, use captions for silent autoplay, and end with a clear offer. Vertical format for TikTok and Reels."},
    {"landing-checklist", "handbook", "# Landing page checklist\n\nA landing page needs one headline with the promise, three benefits, social proof from customer testimonials, a privacy policy link and a single form."},
    {"legal-email", "compliance", "# Email law\n\nCommercial email must include a physical postal address and a working unsubscribe link. Honour opt-out requests within ten business days under CAN-SPAM."},
};

const std::vector<std::pair<std::string, std::string>> kQueries = {
    {"how long should an email subject line be", "email-handbook"},
    {"call to action button in a campaign", "email-handbook"},
    {"words to avoid in our brand tone of voice", "brand-voice"},
    {"who are the parents we target and when do they shop", "persona-parents"},
    {"waterproof trail shoes price", "product-shoes"},
    {"instagram ad hook headline test", "ads-guide"},
    {"captions for tiktok videos hook in seconds", "video-style"},
    {"testimonials and privacy policy on the landing page", "landing-checklist"},
    {"unsubscribe link and postal address requirements", "legal-email"},
    {"opt-out deadline can-spam", "legal-email"},
    {"running shoes colours", "product-shoes"},
    {"second person short sentences voice", "brand-voice"},
};

TEST(RetrievalQuality, HybridSearchFindsTheExpectedDocumentInTheTop3) {
  TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/quality.db";
  config.dimensions = 256;
  std::shared_ptr<Store> store = sqlite::SqliteStore::open(config).value();
  auto embedder = std::make_shared<local::HashingEmbedder>(256);
  for (const auto& doc : kDocs) {
    auto chunks = host::knowledge::chunkDocument(doc.text, "markdown", {1200, 200});
    std::vector<ChunkRecord> records;
    for (size_t i = 0; i < chunks.size(); ++i) {
      records.push_back({doc.id + "-" + std::to_string(i), doc.id, static_cast<int64_t>(i), chunks[i].heading, chunks[i].text,
                         embedder->embedOne(chunks[i].heading + "\n" + chunks[i].text)});
    }
    ASSERT_TRUE(store->putResource({doc.id, "u", doc.id, doc.type, "markdown", doc.text, 0, "local", 1}, records).isOk());
  }
  knowledge::HybridSearch search(store, embedder, nullptr, {}, nullptr);
  int found = 0;
  std::string misses;
  for (const auto& [query, expected] : kQueries) {
    auto result = search.search("u", query, 3, {}, {}, {});
    ASSERT_TRUE(result.isOk()) << result.status().toString();
    bool hit = false;
    for (const auto& r : (*result)["results"]) hit = hit || r["resourceId"] == expected;
    found += hit;
    if (!hit) misses += "\n  " + query + " -> " + (*result)["results"].dump();
  }
  double rate = static_cast<double>(found) / static_cast<double>(kQueries.size());
  RecordProperty("hit_at_3", std::to_string(rate));
  std::cout << "retrieval quality: " << found << "/" << kQueries.size() << " queries found their document in the top 3\n";
  EXPECT_GE(rate, 0.9) << "misses:" << misses;
}

}  // namespace
}  // namespace mx::test
