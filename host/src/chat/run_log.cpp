#include "chat/run_log.hpp"

#include <algorithm>
#include <sstream>

#include "chat/json_text.hpp"
#include "mx/json.hpp"

namespace mx::host::chat {

void RunLog::track(std::string_view event, const std::string& data) {
  if (event != "artifact") return;
  Json parsed = Json::parse(data, nullptr, false);
  if (!parsed.is_object()) return;
  std::string id = parsed.value("artifactId", "");
  std::string type = parsed.value("type", "");
  if (id.empty()) return;
  ArtifactDraft& draft = this->draft(id);
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

ArtifactDraft& RunLog::draft(const std::string& artifactId) {
  auto [it, isNew] = artifacts_.try_emplace(artifactId);
  if (isNew) {
    it->second.id = artifactId;
    artifactOrder_.push_back(artifactId);
  }
  return it->second;
}

void RunLog::append(std::string_view event, std::string data) {
  int64_t id = static_cast<int64_t>(events_.size()) + 1;
  subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                    [&](const auto& subscriber) { return !subscriber->frame(id, event, data); }),
                     subscribers_.end());
  events_.push_back({id, std::string(event), std::move(data)});
  lastSent_ = std::chrono::steady_clock::now();
}

void RunLog::emit(std::string_view event, std::string data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  track(event, data);
  append(event, std::move(data));
}

void RunLog::emitArtifactDelta(std::string_view artifactId, std::string_view text) {
  std::string data = artifactDeltaJson(artifactId, text);
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  auto known = artifacts_.find(artifactId);
  (known != artifacts_.end() ? known->second : draft(std::string(artifactId))).content.append(text);
  append("artifact", std::move(data));
}

bool RunLog::subscribe(const std::shared_ptr<SseConnection>& connection, int64_t afterId) {
  OutputBatch replay;  // the missed events leave in one write, after the lock is released
  std::lock_guard<std::mutex> lock(mutex_);
  if (released_) return false;
  for (const auto& e : events_) {
    if (e.sequence > afterId) connection->frame(e.sequence, e.event, e.data);
  }
  if (closed_) {
    connection->finish();
  } else {
    subscribers_.push_back(connection);
    everSubscribed_ = true;
  }
  return true;
}

void RunLog::releaseEvents() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!closed_) return;
  released_ = true;
  std::vector<RunEvent>().swap(events_);
  artifacts_.clear();
  artifactOrder_.clear();
}

bool RunLog::released() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return released_;
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
