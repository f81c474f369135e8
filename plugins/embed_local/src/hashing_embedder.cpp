#include "hashing_embedder.hpp"

#include <cctype>
#include <cmath>
#include <string>
#include <unordered_map>

namespace mx::local {

namespace {

uint64_t fnv1a(std::string_view text, uint64_t seed) {
  uint64_t hash = 1469598103934665603ULL ^ seed;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      current.push_back(static_cast<char>(std::tolower(c)));
    } else if (!current.empty()) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

}  // namespace

std::vector<float> HashingEmbedder::embedOne(std::string_view text) const {
  std::unordered_map<std::string, double> features;
  auto tokens = words(text);
  for (size_t i = 0; i < tokens.size(); ++i) {
    features["w:" + tokens[i]] += 1.0;
    if (i + 1 < tokens.size()) features["b:" + tokens[i] + " " + tokens[i + 1]] += 0.7;
    std::string padded = "<" + tokens[i] + ">";
    for (size_t j = 0; j + 3 <= padded.size(); ++j) features["c:" + padded.substr(j, 3)] += 0.5;
  }
  std::vector<float> vector(static_cast<size_t>(dimensions_), 0.0f);
  for (const auto& [feature, count] : features) {
    uint64_t hash = fnv1a(feature, 0);
    size_t bucket = hash % static_cast<uint64_t>(dimensions_);
    float sign = (fnv1a(feature, 0x9E3779B97F4A7C15ULL) & 1) ? 1.0f : -1.0f;
    vector[bucket] += sign * static_cast<float>(1.0 + std::log(count));
  }
  double norm = 0;
  for (float v : vector) norm += static_cast<double>(v) * v;
  if (norm > 0) {
    float inverse = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : vector) v *= inverse;
  }
  return vector;
}

Result<std::vector<std::vector<float>>> HashingEmbedder::embed(const std::vector<std::string>& texts,
                                                              CancellationToken cancel) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (const auto& text : texts) {
    if (cancel.isCancelled()) return cancelledError("embedding cancelled");
    out.push_back(embedOne(text));
  }
  return out;
}

}  // namespace mx::local
