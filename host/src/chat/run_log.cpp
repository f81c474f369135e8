#include "chat/run_log.hpp"

#include <algorithm>

#include "chat/json_text.hpp"
#include "mx/json.hpp"
#include "mx/json_parse.hpp"

namespace mx::host::chat {

namespace {
constexpr std::string_view kArtifactEvent = "artifact";
}  // namespace

void RunLog::track(std::string_view event, const std::string& data) {
  if (event != kArtifactEvent) return;
  Json parsed = parseJson(data);
  if (!parsed.is_object()) return;
  std::string id = parsed.value("artifactId", "");
  std::string type = parsed.value("type", "");
  if (id.empty()) return;
  ArtifactDraft& draft = drafts_[draftIndex(id)];
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

size_t RunLog::draftIndex(std::string_view artifactId) {
  if (!drafts_.empty() && drafts_.back().id == artifactId) return drafts_.size() - 1;  // the one being written
  auto known = draftIndex_.find(artifactId);
  if (known != draftIndex_.end()) return known->second;
  drafts_.emplace_back().id = std::string(artifactId);
  deltaHeads_.push_back(artifactDeltaHead(artifactId));
  draftIndex_.emplace(std::string(artifactId), drafts_.size() - 1);
  return drafts_.size() - 1;
}

size_t RunLog::nameIndex(std::string_view event) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == event) return i;
  }
  names_.emplace_back(event);
  return names_.size() - 1;
}

std::string_view RunLog::nameOf(const Entry& entry) const {
  return (entry.nameIndex & kDeltaOf) != 0 ? kArtifactEvent : std::string_view(names_[entry.nameIndex]);
}

std::string_view RunLog::dataOf(const Entry& entry, std::string& scratch) const {
  if ((entry.nameIndex & kDeltaOf) == 0) return std::string_view(text_).substr(entry.dataAt, entry.dataLength);
  size_t index = entry.nameIndex & ~kDeltaOf;
  scratch.clear();
  appendArtifactDelta(scratch, deltaHeads_[index], std::string_view(drafts_[index].content).substr(entry.dataAt, entry.dataLength));
  return scratch;
}

void RunLog::send(int64_t id, std::string_view event, std::string_view data) {
  sendEach([&](SseConnection& subscriber) { return subscriber.frame(id, event, data); });
}

void RunLog::append(std::string_view event, std::string_view data) {
  entries_.push_back({static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(data.size()),
                      static_cast<uint32_t>(nameIndex(event))});
  text_.append(data);
  send(static_cast<int64_t>(entries_.size()), event, data);
}

void RunLog::emit(std::string_view event, std::string data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || sealed_) return;
  track(event, data);
  append(event, data);
}

void RunLog::emitArtifactDelta(std::string_view artifactId, std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || sealed_) return;
  size_t index = draftIndex(artifactId);
  ArtifactDraft& draft = drafts_[index];
  entries_.push_back({static_cast<uint32_t>(draft.content.size()), static_cast<uint32_t>(text.size()),
                      kDeltaOf | static_cast<uint32_t>(index)});
  draft.content.append(text);
  std::string_view added = std::string_view(draft.content).substr(entries_.back().dataAt);
  const std::string& head = deltaHeads_[index];
  auto id = static_cast<int64_t>(entries_.size());
  sendEach([&](SseConnection& subscriber) {  // the delta's JSON escaped straight into each stream's buffer
    return subscriber.frameOneLine(id, kArtifactEvent, [&](std::string& out) { appendArtifactDelta(out, head, added); });
  });
}

bool RunLog::subscribe(const std::shared_ptr<SseConnection>& connection, int64_t afterId) {
  OutputBatch replay;  // the missed events leave in one write, after the lock is released
  std::lock_guard<std::mutex> lock(mutex_);
  if (released_) return false;
  for (size_t i = afterId > 0 ? static_cast<size_t>(afterId) : 0; i < entries_.size(); ++i) {
    connection->frame(static_cast<int64_t>(i) + 1, nameOf(entries_[i]), dataOf(entries_[i], scratch_));
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
  std::vector<Entry>().swap(entries_);
  std::string().swap(text_);
  std::vector<ArtifactDraft>().swap(drafts_);
  std::vector<std::string>().swap(deltaHeads_);
  draftIndex_.clear();
  std::string().swap(scratch_);
}

bool RunLog::released() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return released_;
}

void RunLog::seal() {
  std::lock_guard<std::mutex> lock(mutex_);
  sealed_ = true;
}

void RunLog::finishWith(std::string_view event, std::string_view data) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) append(event, data);
  }
  close();
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
  RunEventBatchWriter batch;
  writeEvents(batch);
  return eventsOf(std::move(batch).finish());
}

size_t RunLog::writeEvents(RunEventBatchWriter& batch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t bytes = text_.size() + entries_.size() * 48;  // each event's head (a delta's head names its artifact)
  for (const auto& draft : drafts_) bytes += draft.content.size();
  batch.reserve(bytes);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    auto sequence = static_cast<int64_t>(i) + 1;
    if ((entry.nameIndex & kDeltaOf) == 0) {
      batch.add(sequence, nameOf(entry), std::string_view(text_).substr(entry.dataAt, entry.dataLength));
    } else {  // kept as its text: the batch makes it the delta's JSON when it is read
      const ArtifactDraft& draft = drafts_[entry.nameIndex & ~kDeltaOf];
      batch.addArtifactDelta(sequence, draft.id, std::string_view(draft.content).substr(entry.dataAt, entry.dataLength));
    }
  }
  return entries_.size();
}

std::vector<ArtifactDraft> RunLog::artifacts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return drafts_;
}

size_t RunLog::eventCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
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
  if (closed_) return;
  auto now = std::chrono::steady_clock::now();
  if (sentSinceHeartbeatCheck_) {
    sentSinceHeartbeatCheck_ = false;
    silentSince_ = now;
    return;
  }
  if (now - silentSince_ < idle) return;
  for (auto& subscriber : subscribers_) subscriber->comment("ping");
  silentSince_ = now;
}

}  // namespace mx::host::chat
