// Test support: a blocking HTTP client on libcurl.
#pragma once

#include <map>
#include <string>

namespace mx::test {

// Adds one raw response header line ("Name: value\r\n") under its lower-case
// name; a name seen before gets ", value" appended (one list, as HTTP reads it).
void addHeaderLine(const std::string& line, std::map<std::string, std::string>& headers);

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // transport error, empty on success
};

HttpResponse httpRequest(const std::string& method, const std::string& url, const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {}, long timeoutMs = 10000);

inline HttpResponse httpGet(const std::string& url, const std::map<std::string, std::string>& headers = {}) {
  return httpRequest("GET", url, "", headers);
}

}  // namespace mx::test
