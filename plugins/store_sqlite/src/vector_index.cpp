#include "vector_index.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace mx::sqlite {

namespace {
constexpr size_t kM = 16;
constexpr size_t kEfConstruction = 200;
constexpr size_t kEfSearch = 64;
}  // namespace

void normalize(std::vector<float>& vector) {
  double norm = 0;
  for (float v : vector) norm += static_cast<double>(v) * v;
  if (norm <= 0) return;
  float inverse = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& v : vector) v *= inverse;
}

struct VectorIndex::UserIndex {
  std::unordered_map<int64_t, size_t> slots;  // label -> row
  std::vector<int64_t> labels;
  std::vector<float> rows;                    // labels.size() x dimensions, flat
  std::vector<VectorMeta> meta;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
};

VectorIndex::VectorIndex(int dimensions, size_t hnswThreshold) : dimensions_(dimensions), hnswThreshold_(hnswThreshold) {}
VectorIndex::~VectorIndex() = default;

void VectorIndex::buildHnsw(UserIndex& index) const {
  index.space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(dimensions_));
  index.hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(index.space.get(), index.labels.size() * 2 + 1024, kM,
                                                                  kEfConstruction);
  index.hnsw->setEf(kEfSearch);
  for (size_t i = 0; i < index.labels.size(); ++i) {
    index.hnsw->addPoint(&index.rows[i * static_cast<size_t>(dimensions_)], static_cast<size_t>(index.labels[i]));
  }
}

void VectorIndex::add(const std::string& userId, int64_t label, std::vector<float> vector, VectorMeta meta) {
  normalize(vector);
  std::unique_lock<std::shared_mutex> lock(mutex_);
  auto& slot = users_[userId];
  if (!slot) slot = std::make_unique<UserIndex>();
  UserIndex& index = *slot;
  if (index.slots.count(label)) return;
  index.slots[label] = index.labels.size();
  index.labels.push_back(label);
  index.rows.insert(index.rows.end(), vector.begin(), vector.end());
  index.meta.push_back(std::move(meta));
  if (index.hnsw) {
    if (index.hnsw->cur_element_count + 1 >= index.hnsw->max_elements_) {
      index.hnsw->resizeIndex(index.hnsw->max_elements_ * 2);
    }
    index.hnsw->addPoint(vector.data(), static_cast<size_t>(label));
  } else if (index.labels.size() >= hnswThreshold_) {
    buildHnsw(index);
  }
}

void VectorIndex::remove(const std::string& userId, int64_t label) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  auto it = users_.find(userId);
  if (it == users_.end()) return;
  UserIndex& index = *it->second;
  auto slot = index.slots.find(label);
  if (slot == index.slots.end()) return;
  size_t row = slot->second;
  size_t last = index.labels.size() - 1;
  size_t d = static_cast<size_t>(dimensions_);
  if (row != last) {  // move the last row into the hole
    index.labels[row] = index.labels[last];
    index.meta[row] = std::move(index.meta[last]);
    std::copy(index.rows.begin() + static_cast<std::ptrdiff_t>(last * d), index.rows.begin() + static_cast<std::ptrdiff_t>((last + 1) * d),
              index.rows.begin() + static_cast<std::ptrdiff_t>(row * d));
    index.slots[index.labels[row]] = row;
  }
  index.labels.pop_back();
  index.meta.pop_back();
  index.rows.resize(last * d);
  index.slots.erase(label);
  if (index.hnsw) index.hnsw->markDelete(static_cast<size_t>(label));
}

std::vector<std::pair<int64_t, float>> VectorIndex::exact(const UserIndex& index, const std::vector<float>& query,
                                                          size_t k, const std::function<bool(const VectorMeta&)>& accept) const {
  std::vector<std::pair<int64_t, float>> scored;
  size_t d = static_cast<size_t>(dimensions_);
  for (size_t i = 0; i < index.labels.size(); ++i) {
    if (accept && !accept(index.meta[i])) continue;
    const float* row = &index.rows[i * d];
    float dot = 0;
    for (size_t j = 0; j < d; ++j) dot += row[j] * query[j];
    scored.emplace_back(index.labels[i], dot);
  }
  size_t keep = std::min(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second; });
  scored.resize(keep);
  return scored;
}

std::vector<std::pair<int64_t, float>> VectorIndex::search(const std::string& userId, std::vector<float> query, size_t k,
                                                           const std::function<bool(const VectorMeta&)>& accept) const {
  normalize(query);
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = users_.find(userId);
  if (it == users_.end() || k == 0 || static_cast<int>(query.size()) != dimensions_) return {};
  const UserIndex& index = *it->second;
  if (!index.hnsw) return exact(index, query, k, accept);
  size_t fetch = std::min(index.labels.size(), accept ? k * 4 : k);
  auto queue = index.hnsw->searchKnn(query.data(), fetch);
  std::vector<std::pair<int64_t, float>> found;
  while (!queue.empty()) {
    auto [distance, label] = queue.top();
    queue.pop();
    auto slot = index.slots.find(static_cast<int64_t>(label));
    if (slot == index.slots.end()) continue;
    if (accept && !accept(index.meta[slot->second])) continue;
    found.emplace_back(static_cast<int64_t>(label), 1.0f - distance);
  }
  if (found.size() < std::min(k, index.labels.size()) && accept) return exact(index, query, k, accept);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (found.size() > k) found.resize(k);
  return found;
}

size_t VectorIndex::size(const std::string& userId) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = users_.find(userId);
  return it == users_.end() ? 0 : it->second->labels.size();
}

bool VectorIndex::usesHnsw(const std::string& userId) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = users_.find(userId);
  return it != users_.end() && it->second->hnsw != nullptr;
}

}  // namespace mx::sqlite
