#include "chat/run_log.hpp"

#include <algorithm>

#include "chat/json_text.hpp"
#include "mx/json.hpp"
#include "mx/json_parse.hpp"

namespace mx::host::chat {

namespace {
constexpr std::string_view kArtifactEvent = "artifact";

// LEB128: a delta's length (almost always under 128 bytes) in one byte.
void appendVarint(std::string& out, size_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>((value & 0x7F) | 0x80));
  out.push_back(static_cast<char>(value));
}

size_t readVarint(std::string_view in, size_t& at) {
  size_t value = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = static_cast<unsigned char>(in[at++]);
    value |= static_cast<size_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}
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

template <class Plain, class Delta>
void RunLog::forEachAfter(int64_t afterId, Plain&& plain, Delta&& delta) const {
  int64_t id = 0;
  for (const Entry& entry : entries_) {
    if (id + entry.events <= afterId) {
      id += entry.events;
    } else if ((entry.nameIndex & kDeltaOf) == 0) {
      plain(++id, std::string_view(names_[entry.nameIndex]), std::string_view(text_).substr(entry.dataAt, entry.dataLength));
    } else {
      size_t draft = entry.nameIndex & ~kDeltaOf;
      std::string_view content(drafts_[draft].content);
      size_t textAt = entry.dataAt;
      size_t lengthAt = entry.dataLength;
      for (uint32_t i = 0; i < entry.events; ++i) {
        size_t length = readVarint(deltaLengths_, lengthAt);
        if (++id > afterId) delta(id, draft, content.substr(textAt, length));
        textAt += length;
      }
    }
  }
}

void RunLog::send(int64_t id, std::string_view event, std::string_view data) {
  sendEach([&](SseConnection& subscriber) { return subscriber.frame(id, event, data); });
}

void RunLog::append(std::string_view event, std::string_view data) {
  entries_.push_back({static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(data.size()),
                      static_cast<uint32_t>(nameIndex(event)), 1});
  text_.append(data);
  send(static_cast<int64_t>(++eventCount_), event, data);
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
  uint32_t deltaOfDraft = kDeltaOf | static_cast<uint32_t>(index);
  // The run goes on while this artifact's deltas follow each other: nothing
  // else adds to its content without an entry of its own.
  if (entries_.empty() || entries_.back().nameIndex != deltaOfDraft) {
    entries_.push_back({static_cast<uint32_t>(draft.content.size()), static_cast<uint32_t>(deltaLengths_.size()), deltaOfDraft, 0});
  }
  ++entries_.back().events;
  appendVarint(deltaLengths_, text.size());
  size_t addedAt = draft.content.size();
  draft.content.append(text);
  std::string_view added = std::string_view(draft.content).substr(addedAt);
  const std::string& head = deltaHeads_[index];
  auto id = static_cast<int64_t>(++eventCount_);
  sendEach([&](SseConnection& subscriber) {  // the delta's JSON escaped straight into each stream's buffer
    return subscriber.frameOneLine(id, kArtifactEvent, [&](std::string& out) { appendArtifactDelta(out, head, added); });
  });
}

bool RunLog::subscribe(const std::shared_ptr<SseConnection>& connection, int64_t afterId) {
  OutputBatch replay;  // the missed events leave in one write, after the lock is released
  std::lock_guard<std::mutex> lock(mutex_);
  if (released_) return false;
  forEachAfter(
      afterId, [&](int64_t id, std::string_view event, std::string_view data) { connection->frame(id, event, data); },
      [&](int64_t id, size_t draft, std::string_view text) {
        scratch_.clear();
        appendArtifactDelta(scratch_, deltaHeads_[draft], text);
        connection->frame(id, kArtifactEvent, scratch_);
      });
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
  eventCount_ = 0;
  std::string().swap(text_);
  std::string().swap(deltaLengths_);
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
  size_t bytes = text_.size() + eventCount_ * 48;  // each event's head (a delta's head names its artifact)
  for (const auto& draft : drafts_) bytes += draft.content.size();
  batch.reserve(bytes);
  forEachAfter(
      0, [&](int64_t id, std::string_view event, std::string_view data) { batch.add(id, event, data); },
      [&](int64_t id, size_t draft, std::string_view text) {  // kept as its text: the batch makes it the delta's JSON when it is read
        batch.addArtifactDelta(id, drafts_[draft].id, text);
      });
  return eventCount_;
}

std::vector<ArtifactDraft> RunLog::artifacts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return drafts_;
}

size_t RunLog::eventCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return eventCount_;
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
