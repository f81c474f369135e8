// In-memory vector index over the chunks' embeddings, one per user.
//
// Keeping each user's vectors apart makes tenant isolation structural (a
// query can only ever see its own user's vectors) and keeps small
// collections exact: below `hnswThreshold` vectors a user's search is an exact
// dot-product scan; from there an HNSW graph (hnswlib, cosine via inner
// product on normalised vectors) answers, with exact search as the fallback
// when filters reject too many candidates. Inserts and deletes keep both
// consistent (HNSW deletes are marks). The index is rebuilt from the database
// at start.
// Thread-safety: searches run concurrently; add/remove take an exclusive lock.
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace mx::sqlite {

struct VectorMeta {
  std::string resourceId;
  std::string resourceType;
};

class VectorIndex {
 public:
  VectorIndex(int dimensions, size_t hnswThreshold);
  ~VectorIndex();

  int dimensions() const { return dimensions_; }
  void add(const std::string& userId, int64_t label, std::vector<float> vector, VectorMeta meta);
  void remove(const std::string& userId, int64_t label);
  // Best first: (label, cosine similarity).
  std::vector<std::pair<int64_t, float>> search(const std::string& userId, std::vector<float> query, size_t k,
                                                const std::function<bool(const VectorMeta&)>& accept) const;
  size_t size(const std::string& userId) const;
  bool usesHnsw(const std::string& userId) const;

 private:
  struct UserIndex;
  std::vector<std::pair<int64_t, float>> exact(const UserIndex& index, const std::vector<float>& query, size_t k,
                                               const std::function<bool(const VectorMeta&)>& accept) const;
  void buildHnsw(UserIndex& index) const;

  int dimensions_;
  size_t hnswThreshold_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<UserIndex>> users_;
};

void normalize(std::vector<float>& vector);

}  // namespace mx::sqlite
