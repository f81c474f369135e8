// Test support: replaying recorded API responses (../shared/reference/fixtures)
// through MockHttpServer exactly as the real services send them.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_http_server.hpp"

namespace mx::test {

std::string fixturePath(const std::string& name);

// An .sse fixture body; the SDK-fixture ones lack the final blank line that
// real streams end with, and get it back here.
std::string sseFixture(const std::string& name);

// Streams `body` as a 200 text/event-stream, in chunks of at most
// `chunkSize` bytes (0 = one write), sleeping `delay` between chunks.
void streamSse(MockResponse& response, const std::string& body, size_t chunkSize = 0,
               std::chrono::milliseconds delay = std::chrono::milliseconds(0),
               std::vector<std::pair<std::string, std::string>> headers = {});

// Sends a recorded error (status, headers, body) from a fixture JSON record,
// dropping the headers that described the recording's encoding.
void sendRecordedError(MockResponse& response, const std::string& fixtureName,
                       std::vector<std::pair<std::string, std::string>> extraHeaders = {});

// A handler that answers the n-th request with the n-th handler (the last repeats).
MockHttpServer::Handler sequence(std::vector<MockHttpServer::Handler> handlers);

}  // namespace mx::test
