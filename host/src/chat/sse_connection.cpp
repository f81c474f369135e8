#include "chat/sse_connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <fcntl.h>

#include <pistache/os.h>

#include "http/http_server.hpp"

namespace mx::host::chat {

// The head, then the data sized once and copied in: an append per piece was ~470
// instructions a frame, a quarter of an artifact delta's cost. Data of one line (JSON
// always is) is one "data: " line; each further line of it gets its own.
void SseConnection::appendFrame(std::string& out, int64_t id, std::string_view event, std::string_view data) {
  appendFrameHead(out, id, event);  // ends with the first line's "data: "
  size_t firstBreak = data.find('\n');  // memchr, not std::count: a byte at a time was as costly as the appends
  size_t lines = 1;
  for (size_t at = firstBreak; at != std::string_view::npos; at = data.find('\n', at + 1)) ++lines;
  static constexpr std::string_view kData = "data: ";
  size_t start = out.size();
  out.resize(start + data.size() + (lines - 1) * kData.size() + 2);  // the line breaks are data's own, then "\n\n"
  char* at = out.data() + start;
  auto put = [&at](std::string_view bytes) {
    if (bytes.empty()) return;  // an empty view's pointer may be null
    std::memcpy(at, bytes.data(), bytes.size());
    at += bytes.size();
  };
  size_t lineStart = 0;
  for (size_t end = firstBreak;; end = data.find('\n', lineStart)) {
    put(data.substr(lineStart, end == std::string_view::npos ? std::string_view::npos : end - lineStart));
    *at++ = '\n';
    if (end == std::string_view::npos) break;
    put(kData);
    lineStart = end + 1;
  }
  *at = '\n';
}

void SseConnection::appendFrameHead(std::string& out, int64_t id, std::string_view event) {
  char idText[24];
  size_t idLength = static_cast<size_t>(std::to_chars(idText, idText + sizeof idText, id).ptr - idText);
  static constexpr std::string_view kId = "id: ", kEvent = "\nevent: ", kData = "\ndata: ";
  size_t start = out.size();
  out.resize(start + kId.size() + idLength + kEvent.size() + event.size() + kData.size());
  char* at = out.data() + start;
  auto put = [&at](std::string_view bytes) {
    std::memcpy(at, bytes.data(), bytes.size());
    at += bytes.size();
  };
  put(kId);
  put(std::string_view(idText, idLength));
  put(kEvent);
  if (!event.empty()) put(event);  // an empty view's pointer may be null
  put(kData);
}

// Pistache's queue, for what the socket does not take at once. Write
// completions are not waited for: Pistache's promises are not safe to chain
// from a thread other than the reactor that settles them.
SseConnection::SseConnection(std::weak_ptr<Pistache::Tcp::Peer> peer, int socket)
    : peer_(std::move(peer)), writer_(socket, [weakPeer = peer_](std::string bytes) {
        if (auto queue = weakPeer.lock()) {
          size_t length = bytes.size();
          queue->send(Pistache::RawBuffer(std::move(bytes), length));
        }
      }) {}

// Under the lock, so bytes from different threads keep their order.
void SseConnection::sendLocked(std::string_view tail, bool last) {
  if (closed_) return;
  if (peer_.expired()) {  // Pistache closed the connection (the client left, or a timeout)
    closed_ = true;
    pending_.clear();
    head_.clear();
    writer_.close();
    return;
  }
  if (last) closed_ = true;
  std::string bytes = std::move(head_);
  head_.clear();
  if (!pending_.empty()) {
    char size[24];
    char* end = std::to_chars(size, size + 20, pending_.size(), 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    size_t n = static_cast<size_t>(end - size);
    bytes.reserve(bytes.size() + n + pending_.size() + 2 + tail.size());
    bytes.append(size, n).append(pending_).append("\r\n");
    lastBatchBytes_ = std::min(pending_.size(), kMostBatchBytesReserved);
    pending_.clear();
    if (pending_.capacity() > 4096) pending_.shrink_to_fit();  // an idle stream keeps little
  }
  bytes.append(tail);
  if (writer_.write(std::move(bytes)) == SocketWriter::Outcome::Failed) {
    closed_ = true;
    pending_.clear();
  }
  if (closed_) writer_.close();
}

bool SseConnection::gathered() {
  if (deferred_) return true;
  if (OutputBatch::defer(shared_from_this())) {
    deferred_ = true;
  } else {
    sendLocked({}, false);
  }
  return !closed_;
}

void SseConnection::flushDeferred() {
  std::lock_guard<std::mutex> lock(mutex_);
  deferred_ = false;
  sendLocked({}, false);
}

std::shared_ptr<SseConnection> SseConnection::open(Pistache::Http::ResponseWriter& response) {
  auto connection = prepare(response);
  connection->begin({});
  return connection;
}

std::shared_ptr<SseConnection> SseConnection::prepare(Pistache::Http::ResponseWriter& response) {
  std::ostringstream head;
  bool keepAlive = false;
  for (const auto& header : response.headers().list()) {
    // Pistache's Connection header echoes the request's (keep-alive only when
    // the request asks for it); begin() and refuse() write their own.
    if (std::string_view(header->name()) == "Connection") {
      auto* connection = dynamic_cast<const Pistache::Http::Header::Connection*>(header.get());
      keepAlive = connection != nullptr && connection->control() == Pistache::Http::ConnectionControl::KeepAlive;
      continue;
    }
    head << header->name() << ": ";
    header->write(head);
    head << "\r\n";
  }
  for (const auto& [name, raw] : response.headers().rawList()) head << name << ": " << raw.value() << "\r\n";
  auto peer = response.peer();
  // F_DUPFD_CLOEXEC: the stream's own descriptor of the socket (see socket_writer.hpp),
  // taken here: later, Pistache may have closed the client's and another client got its number.
  int socket = peer ? ::fcntl(peer->fd(), F_DUPFD_CLOEXEC, 0) : -1;
  auto connection = std::make_shared<SseConnection>(peer, socket);
  connection->preparedHeaders_ = head.str();
  connection->keepAlive_ = keepAlive;
  return connection;
}

void SseConnection::begin(std::string_view headerLines) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (begun_) return;
  begun_ = true;
  head_ = "HTTP/1.1 200 OK\r\n" + preparedHeaders_;
  head_.append(headerLines);
  // A kept connection serves the client's next request once the stream has
  // ended: Pistache's parser was reset when the route handler returned, and the
  // stream's own descriptor is a duplicate, closed at the end, not the connection.
  head_ += keepAlive_ ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  head_ += "Transfer-Encoding: chunked\r\n\r\n";
  preparedHeaders_.clear();
  gathered();  // in a batch (a subscription's first events), the head leaves with them: one send
}

void SseConnection::refuse(int httpCode, std::string_view jsonBody, std::string_view headerLines) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (begun_) return sendLocked("0\r\n\r\n", true);  // too late for a status: the stream just ends
  begun_ = true;
  std::string response = http::jsonResponseText(httpCode, preparedHeaders_ + std::string(headerLines), jsonBody, keepAlive_);
  preparedHeaders_.clear();
  sendLocked(response, true);
}

bool SseConnection::frame(int64_t id, std::string_view event, std::string_view data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return false;
  // A burst of deltas grew the buffer a doubling at a time (reallocations were a fifth of a frame's cost).
  reserveForBatch();
  appendFrame(pending_, id, event, data);
  return gathered();
}

bool SseConnection::comment(std::string_view text) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return false;
  pending_.append(": ").append(text).append("\n\n");
  return gathered();
}

void SseConnection::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  sendLocked("0\r\n\r\n", true);
}

void SseConnection::markClosed() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  pending_.clear();
  head_.clear();
  writer_.close();
}

bool SseConnection::clientGone() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!closed_ && peer_.expired()) {
    closed_ = true;
    writer_.close();
  }
  return closed_;
}

bool SseConnection::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

}  // namespace mx::host::chat
