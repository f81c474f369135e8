#include "api_mock.hpp"

#include <algorithm>

namespace mx::test {

std::string fixturePath(const std::string& name) { return std::string(MX_FIXTURES_DIR) + "/" + name; }

std::string sseFixture(const std::string& name) {
  std::string body = readFile(fixturePath(name));
  while (body.size() >= 2 && body.substr(body.size() - 2) != "\n\n") {
    body.push_back('\n');
  }
  return body;
}

void streamSse(MockResponse& response, const std::string& body, size_t chunkSize, std::chrono::milliseconds delay,
               std::vector<std::pair<std::string, std::string>> headers) {
  headers.emplace_back("Content-Type", "text/event-stream; charset=utf-8");
  headers.emplace_back("Cache-Control", "no-cache");
  headers.emplace_back("request-id", "req_mock");
  response.begin(200, headers);
  if (chunkSize == 0) chunkSize = body.size();
  for (size_t at = 0; at < body.size() && !response.failed(); at += chunkSize) {
    response.chunk(std::string_view(body).substr(at, chunkSize));
    if (delay.count() > 0) response.sleep(delay);
  }
  response.end();
}

void sendRecordedError(MockResponse& response, const std::string& fixtureName,
                       std::vector<std::pair<std::string, std::string>> extraHeaders) {
  auto record = nlohmann::json::parse(readFile(fixturePath(fixtureName)));
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : record["headers"].items()) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "content-encoding" ||
        lower == "connection") {
      continue;
    }
    if (value.is_array()) {
      for (const auto& each : value) headers.emplace_back(name, each.get<std::string>());
    } else {
      headers.emplace_back(name, value.get<std::string>());
    }
  }
  for (auto& header : extraHeaders) headers.push_back(std::move(header));
  // Some records keep the body verbatim ("body_raw") and one lacks its status,
  // which its file name gives ("...-401.json").
  int status = record["status"].is_number() ? record["status"].get<int>() : 0;
  if (status == 0) {
    auto dash = fixtureName.rfind('-');
    status = std::stoi(fixtureName.substr(dash + 1, 3));
  }
  std::string body = record.contains("body_raw") ? record["body_raw"].get<std::string>() : record["body"].dump();
  response.send(status, headers, body);
}

MockHttpServer::Handler sequence(std::vector<MockHttpServer::Handler> handlers) {
  auto shared = std::make_shared<std::vector<MockHttpServer::Handler>>(std::move(handlers));
  auto counter = std::make_shared<std::atomic<size_t>>(0);
  return [shared, counter](const MockRequest& request, MockResponse& response) {
    size_t index = std::min(counter->fetch_add(1), shared->size() - 1);
    (*shared)[index](request, response);
  };
}

}  // namespace mx::test
