#include "chat/session_cache.hpp"
#include "mx/json_parse.hpp"

namespace mx::host::chat {

std::optional<Json> SessionCache::load(const std::string& userId, const std::string& conversationId) {
  if (!cache_) return std::nullopt;
  auto cached = cache_->get(key(userId, conversationId));
  if (cached && cached->has_value()) {
    Json state = parseJson(**cached);
    if (state.is_object()) {
      ++hits_;
      return state;
    }
  }
  ++misses_;
  return std::nullopt;
}

void SessionCache::save(const std::string& userId, const std::string& conversationId, const Json& state) {
  if (cache_) saveText(userId, conversationId, state.dump());
}

void SessionCache::saveText(const std::string& userId, const std::string& conversationId, std::string_view stateText) {
  if (cache_) (void)cache_->set(key(userId, conversationId), stateText, ttl_);
}

void SessionCache::forget(const std::string& userId, const std::string& conversationId) {
  if (cache_) (void)cache_->erase(key(userId, conversationId));
}

}  // namespace mx::host::chat
