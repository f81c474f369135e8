#include "chat/sse_connection.hpp"

#include <cstdio>
#include <sstream>

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

// Under the lock, so frames from different threads reach the queue in order.
// Write completions are not waited for: Pistache's promises are not safe to
// chain from a thread other than the reactor that settles them.
bool SseConnection::enqueue(std::string bytes, bool last) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return false;
  auto peer = peer_.lock();
  if (!peer) {
    closed_ = true;
    return false;
  }
  if (last) closed_ = true;
  size_t length = bytes.size();
  peer->send(Pistache::RawBuffer(std::move(bytes), length));
  return true;
}

namespace {

std::string chunk(std::string_view payload) {
  char size[24];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
  std::string out(size, static_cast<size_t>(n));
  out.reserve(out.size() + payload.size() + 2);
  out += payload;
  out += "\r\n";
  return out;
}

}  // namespace

std::shared_ptr<SseConnection> SseConnection::open(Pistache::Http::ResponseWriter& response) {
  std::ostringstream head;
  head << "HTTP/1.1 200 OK\r\n";
  for (const auto& header : response.headers().list()) {
    head << header->name() << ": ";
    header->write(head);
    head << "\r\n";
  }
  for (const auto& [name, raw] : response.headers().rawList()) head << name << ": " << raw.value() << "\r\n";
  // The stream ends the connection: Pistache never saw a response for this
  // request, so the connection is not reused for another.
  head << "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto connection = std::make_shared<SseConnection>(response.peer());
  connection->enqueue(head.str(), false);
  return connection;
}

bool SseConnection::frame(int64_t id, std::string_view event, std::string_view data) {
  return enqueue(chunk(formatFrame(id, event, data)), false);
}

bool SseConnection::comment(std::string_view text) { return enqueue(chunk(": " + std::string(text) + "\n\n"), false); }

void SseConnection::finish() { enqueue("0\r\n\r\n", true); }

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
