// mx_knowledge_bench: knowledge-search on the embedded store at scale (issue 7:
// p99 <= 5 ms for top-5 over 100,000 chunks). Fills a fresh SQLite store with
// N chunks of one user (the worst case: every chunk is a candidate) in
// documents of 50 chunks of 50 words drawn from a Zipf distribution over a
// 20,000-word vocabulary (as natural text: a few very common words, a long
// tail), embedded with the local embedder; leaves it idle for the store's WAL
// copy (as between an upload and the searches after it); then runs Q hybrid
// searches of four words drawn the same way (query embedding, FTS5, HNSW,
// reciprocal rank fusion; no cache) and prints one JSON object with the
// latency percentiles.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hashing_embedder.hpp"
#include "hybrid_search.hpp"
#include "sqlite_store.hpp"

#include "bench_stats.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// The marketing words first (the most frequent), then made-up words for the long tail.
const std::vector<std::string> kCommon = {
    "email", "subject", "line", "discount", "spring", "sale", "customer", "brand", "voice", "tone", "audience", "persona",
    "launch", "product", "landing", "page", "headline", "call", "action", "button", "video", "script", "hook", "story",
    "offer", "free", "shipping", "loyalty", "member", "newsletter", "unsubscribe", "privacy", "policy", "compliance",
    "guarantee", "benefit", "feature", "proof", "testimonial", "urgency", "deadline", "season", "summer", "winter",
    "holiday", "gift", "bundle", "price", "premium", "trial", "onboarding", "welcome", "retention", "churn", "campaign"};

class ZipfText {
 public:
  explicit ZipfText(size_t vocabulary) {
    words_ = kCommon;
    const char* syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "do", "gu"};
    for (size_t i = 0; words_.size() < vocabulary; ++i) {
      std::string word;
      for (size_t n = i + 7; n > 0; n /= 12) word += syllables[n % 12];
      words_.push_back(word);
    }
    double total = 0;
    for (size_t rank = 1; rank <= words_.size(); ++rank) cumulative_.push_back(total += 1.0 / static_cast<double>(rank));
  }
  std::string sentence(std::mt19937& random, int count) const {
    std::uniform_real_distribution<double> pick(0, cumulative_.back());
    std::string out;
    for (int i = 0; i < count; ++i) {
      size_t index = static_cast<size_t>(std::lower_bound(cumulative_.begin(), cumulative_.end(), pick(random)) - cumulative_.begin());
      out += (i ? " " : "") + words_[index];
    }
    return out + ".";
  }

 private:
  std::vector<std::string> words_;
  std::vector<double> cumulative_;
};

using mx::bench::percentile;

}  // namespace

int main(int argc, char** argv) {
  size_t chunks = 100000, queries = 1000;
  int64_t walIdleMs = mx::sqlite::StoreConfig{}.walIdleCheckpointMs;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--chunks") chunks = std::stoul(argv[i + 1]);
    else if (flag == "--queries") queries = std::stoul(argv[i + 1]);
    else if (flag == "--wal-idle-ms") walIdleMs = std::stoll(argv[i + 1]);  // 0: the WAL left as the ingest left it
    else {
      std::fprintf(stderr, "usage: mx_knowledge_bench [--chunks N] [--queries Q] [--wal-idle-ms MS]\n");
      return 2;
    }
  }
  std::string dir = std::filesystem::temp_directory_path() / ("mx-knowledge-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  mx::sqlite::StoreConfig config;
  config.path = dir + "/bench.db";
  config.dimensions = 256;
  config.walIdleCheckpointMs = walIdleMs;
  auto opened = mx::sqlite::SqliteStore::open(config);
  if (!opened) {
    std::fprintf(stderr, "mx_knowledge_bench: %s\n", opened.status().toString().c_str());
    return 1;
  }
  std::shared_ptr<mx::Store> store = std::move(*opened);
  auto embedder = std::make_shared<mx::local::HashingEmbedder>(256);
  std::mt19937 random(42);
  ZipfText corpus(20000);

  auto ingestStart = Clock::now();
  const size_t perDocument = 50;
  for (size_t doc = 0; doc * perDocument < chunks; ++doc) {
    std::string id = "res_" + std::to_string(doc);
    std::vector<mx::ChunkRecord> records;
    for (size_t c = 0; c < perDocument && doc * perDocument + c < chunks; ++c) {
      std::string text = corpus.sentence(random, 25) + " " + corpus.sentence(random, 25);
      records.push_back({id + "_" + std::to_string(c), id, static_cast<int64_t>(c), "Section " + std::to_string(c), text,
                         embedder->embedOne(text)});
    }
    auto status = store->putResource({id, "bench", "Document " + std::to_string(doc), doc % 2 ? "handbook" : "brand-guidelines",
                                      "text", "", 0, "local", static_cast<int64_t>(doc)},
                                     records);
    if (!status.isOk()) {
      std::fprintf(stderr, "mx_knowledge_bench: %s\n", status.toString().c_str());
      return 1;
    }
  }
  double ingestSeconds = std::chrono::duration<double>(Clock::now() - ingestStart).count();
  // Searches come after an upload, not in the same second: the store copies its WAL into the
  // database once writes stop (StoreConfig::walIdleCheckpointMs), and reads from the file after.
  std::this_thread::sleep_for(std::chrono::milliseconds(config.walIdleCheckpointMs + 1000));

  mx::knowledge::HybridSearch search(store, embedder, nullptr, {}, nullptr);
  std::vector<double> hybrid, text, vector;
  auto timed = [](auto&& call) {
    auto start = Clock::now();
    bool ok = call();
    return ok ? std::chrono::duration<double, std::milli>(Clock::now() - start).count() : -1.0;
  };
  for (size_t q = 0; q < queries + 50; ++q) {
    std::string query = corpus.sentence(random, 4);
    double h = timed([&] { return search.search("bench", query, 5, {}, {}, {}).isOk(); });
    // The two halves of the hybrid, as the search asks for them (its `candidates`, 20).
    double t = timed([&] { return store->searchText({"bench", query, {}, 20, {}, {}}).isOk(); });
    auto embedding = embedder->embedOne(query);
    double v = timed([&] { return store->searchVector({"bench", "", embedding, 20, {}, {}}).isOk(); });
    if (h < 0 || t < 0 || v < 0) {
      std::fprintf(stderr, "mx_knowledge_bench: a search failed\n");
      return 1;
    }
    if (q < 50) continue;  // the first 50 warm the caches
    hybrid.push_back(h);
    text.push_back(t);
    vector.push_back(v);
  }
  auto summary = [](const std::vector<double>& ms) {
    char out[160];
    std::snprintf(out, sizeof out, "{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", percentile(ms, 0.5), percentile(ms, 0.9),
                  percentile(ms, 0.99), *std::max_element(ms.begin(), ms.end()));
    return std::string(out);
  };
  std::printf("{\"chunks\":%zu,\"queries\":%zu,\"ingestSeconds\":%.1f,\"searchMs\":%s,\"fullTextMs\":%s,\"vectorMs\":%s}\n", chunks,
              queries, ingestSeconds, summary(hybrid).c_str(), summary(text).c_str(), summary(vector).c_str());
  store.reset();
  if (std::getenv("MX_BENCH_KEEP") != nullptr) {
    std::fprintf(stderr, "kept %s/bench.db\n", dir.c_str());
  } else {
    std::filesystem::remove_all(dir);
  }
  return 0;
}
