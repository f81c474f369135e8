// HashingEmbedder — the embedded default's embedder: no model, no download.
//
// A text becomes a vector of `dimensions` floats by feature hashing: lower-
// cased word unigrams and bigrams (weight 1.0 and 0.7) and character
// trigrams inside words (weight 0.5, so "campaigns" still meets "campaign"),
// each hashed (FNV-1a) to a signed bucket, counts damped (1 + log tf), then
// L2-normalised so that the dot product is the cosine. It captures lexical
// overlap, not meaning: synonyms do not match. Its model name says so:
// "local-hashing-v1".
// Thread-safety: stateless; embed() may be called concurrently.
// Blocking: CPU only, microseconds per text.
#pragma once

#include "mx/embedder.hpp"

namespace mx::local {

class HashingEmbedder final : public Embedder {
 public:
  explicit HashingEmbedder(int dimensions) : dimensions_(dimensions) {}

  std::string modelName() const override { return "local-hashing-v1"; }
  int dimensions() const override { return dimensions_; }
  Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& texts, CancellationToken cancel) override;

  std::vector<float> embedOne(std::string_view text) const;

 private:
  int dimensions_;
};

}  // namespace mx::local
