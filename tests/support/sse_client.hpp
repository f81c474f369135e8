// Test support: an SSE client over libcurl that parses the stream with a
// WHATWG-conforming decoder, records every event with its id, and can cut
// the connection after N events (to test reconnects).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mx::test {

struct SseEventRecord {
  std::string id;
  std::string event;
  std::string data;
  nlohmann::json json() const { return nlohmann::json::parse(data); }
};

struct SseResult {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case
  std::vector<SseEventRecord> events;
  std::string body;            // non-SSE bodies (errors)
  bool endedCleanly = false;   // the chunked body was terminated by the server
  size_t comments = 0;
  long newConnections = 0;     // connections opened for this request (0: a kept one was reused)
};

// Connections kept between openSse calls that share it (libcurl's connection
// cache), so a test can send a second request on the first one's connection.
class SseConnections {
 public:
  SseConnections();
  ~SseConnections();
  SseConnections(const SseConnections&) = delete;
  SseConnections& operator=(const SseConnections&) = delete;
  void* share() const { return share_; }

 private:
  void* share_;
};

struct SseOptions {
  std::map<std::string, std::string> headers;
  size_t cutAfterEvents = 0;                       // 0: read to the end
  // Called for each event, with the response headers (the run id is there).
  std::function<void(const SseEventRecord&, const std::map<std::string, std::string>&)> onEvent;
  long timeoutMs = 30000;
  // A slow client: a small socket receive buffer, and no reading at all for
  // a while after the first bytes, so the server's socket fills up.
  int receiveBufferBytes = 0;
  long stallAfterFirstBytesMs = 0;
  // Kept connections to reuse (and keep); null: a new connection, closed after.
  SseConnections* connections = nullptr;
};

SseResult openSse(const std::string& method, const std::string& url, const std::string& body, const SseOptions& options = {});

}  // namespace mx::test
