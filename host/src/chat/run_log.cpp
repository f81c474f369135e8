#include "chat/run_log.hpp"

#include <algorithm>
#include <sstream>

#include "mx/json.hpp"

namespace mx::host::chat {

void RunLog::track(std::string_view event, const std::string& data) {
  if (event != "artifact") return;
  Json parsed = Json::parse(data, nullptr, false);
  if (!parsed.is_object()) return;
  std::string id = parsed.value("artifactId", "");
  std::string type = parsed.value("type", "");
  if (id.empty()) return;
  auto [it, isNew] = artifacts_.try_emplace(id);
  ArtifactDraft& draft = it->second;
  if (isNew) {
    draft.id = id;
    artifactOrder_.push_back(id);
  }
  if (type == "start" && parsed.contains("metadata")) draft.contentType = parsed["metadata"].value("contentType", "");
  if (type == "delta") draft.content += parsed.value("content", "");
  if (type == "end") {
    draft.ended = true;
    if (parsed.contains("metadata")) {
      draft.wordCount = parsed["metadata"].value("wordCount", int64_t{0});
      draft.incomplete = parsed["metadata"].value("incomplete", false);
    }
  }
}

void RunLog::emit(std::string_view event, std::string data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  int64_t id = static_cast<int64_t>(events_.size()) + 1;
  track(event, data);
  for (auto& subscriber : subscribers_) subscriber->frame(id, event, data);
  subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(), [](const auto& s) { return s->closed(); }),
                     subscribers_.end());
  events_.push_back({id, std::string(event), std::move(data)});
  lastSent_ = std::chrono::steady_clock::now();
}

void RunLog::subscribe(const std::shared_ptr<SseConnection>& connection, int64_t afterId) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& e : events_) {
    if (e.sequence > afterId) connection->frame(e.sequence, e.event, e.data);
  }
  if (closed_) {
    connection->finish();
  } else {
    subscribers_.push_back(connection);
    everSubscribed_ = true;
  }
}

void RunLog::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  closed_ = true;
  closedAt_ = std::chrono::steady_clock::now();
  for (auto& subscriber : subscribers_) subscriber->finish();
  subscribers_.clear();
}

bool RunLog::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::chrono::steady_clock::time_point RunLog::closedAt() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closedAt_;
}

std::vector<RunEvent> RunLog::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

std::vector<ArtifactDraft> RunLog::artifacts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ArtifactDraft> out;
  for (const auto& id : artifactOrder_) out.push_back(artifacts_.at(id));
  return out;
}

size_t RunLog::subscriberCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return subscribers_.size();
}

bool RunLog::abandoned() {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(), [](const auto& s) { return s->clientGone(); }),
                     subscribers_.end());
  return everSubscribed_ && subscribers_.empty() && !closed_;
}

void RunLog::heartbeat(std::chrono::steady_clock::duration idle) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || std::chrono::steady_clock::now() - lastSent_ < idle) return;
  for (auto& subscriber : subscribers_) subscriber->comment("ping");
  lastSent_ = std::chrono::steady_clock::now();
}

}  // namespace mx::host::chat
