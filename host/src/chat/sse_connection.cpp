#include "chat/sse_connection.hpp"

#include <cstdio>

#include <pistache/os.h>

namespace mx::host::chat {

std::string SseConnection::formatFrame(int64_t id, std::string_view event, std::string_view data) {
  std::string frame = "id: " + std::to_string(id) + "\nevent: " + std::string(event) + "\n";
  size_t start = 0;
  while (true) {
    size_t end = data.find('\n', start);
    frame += "data: ";
    frame.append(data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    frame += "\n";
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  frame += "\n";
  return frame;
}

bool SseConnection::sendChunk(const std::string& payload) {
  if (closed_) return false;
  auto peer = peer_.lock();
  if (!peer) {
    closed_ = true;
    return false;
  }
  char size[24];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
  std::string chunk(size, static_cast<size_t>(n));
  chunk += payload;
  chunk += "\r\n";
  size_t length = chunk.size();
  peer->send(Pistache::RawBuffer(std::move(chunk), length));
  return true;
}

bool SseConnection::frame(int64_t id, std::string_view event, std::string_view data) {
  std::lock_guard<std::mutex> lock(mutex_);
  return sendChunk(formatFrame(id, event, data));
}

bool SseConnection::comment(std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  return sendChunk(": " + std::string(text) + "\n\n");
}

void SseConnection::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  closed_ = true;
  if (auto peer = peer_.lock()) peer->send(Pistache::RawBuffer(std::string("0\r\n\r\n"), 5));
}

void SseConnection::markClosed() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
}

bool SseConnection::clientGone() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!closed_ && peer_.expired()) closed_ = true;
  return closed_;
}

bool SseConnection::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

}  // namespace mx::host::chat
