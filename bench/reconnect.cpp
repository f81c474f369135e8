// mx_reconnect_bench: how fast a client that lost its stream gets going again
// (issue 7: its first missed event within 5 ms p99). For each of N turns it
// opens a chat stream, drops it after K events, reconnects at once to
// GET /api/v1/runs/{runId}/stream with Last-Event-ID, and times the request
// until the first event arrives (which must be the next id). Prints one JSON
// object with the percentiles. Blocking libcurl, one turn at a time; run it
// beside a load generator to measure under load.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/sse_decoder.hpp"

#include "bench_stats.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
  mx::host::SseDecoder decoder;
  std::string runId;
  long lastId = 0;
  size_t events = 0;
  size_t stopAfter = 0;
  bool stopped = false;
  Clock::time_point firstEvent;
};

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  const std::string name = "x-run-id:";
  std::string lower = line;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.rfind(name, 0) == 0) {
    std::string value = line.substr(name.size());
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    transfer->runId = value;
  }
  return size * count;
}

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->decoder.feed(std::string_view(data, size * count), [&](const mx::SseEvent& e) {
    if (transfer->stopped) return;
    if (transfer->events++ == 0) transfer->firstEvent = Clock::now();
    transfer->lastId = std::stol(std::string(e.id));
    if (transfer->events >= transfer->stopAfter) transfer->stopped = true;
  });
  return transfer->stopped ? 0 : size * count;  // 0 aborts the transfer: the client "loses" its stream
}

CURL* request(const std::string& url, curl_slist* headers, Transfer& transfer) {
  CURL* easy = curl_easy_init();
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);  // a reconnect is a new connection
  return easy;
}

using mx::bench::percentile;

}  // namespace

int main(int argc, char** argv) {
  std::string url, apiKey;
  size_t turns = 100, dropAfter = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") url = value;
    else if (flag == "--api-key") apiKey = value;
    else if (flag == "--turns") turns = std::stoul(value);
    else if (flag == "--drop-after") dropAfter = std::stoul(value);
    else {
      std::fprintf(stderr, "usage: mx_reconnect_bench --url URL [--api-key KEY] [--turns N] [--drop-after K]\n");
      return 2;
    }
  }
  if (url.empty()) {
    std::fprintf(stderr, "mx_reconnect_bench: --url is required\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<double> firstMissed;
  size_t errors = 0;
  std::vector<std::string> problems;
  for (size_t turn = 0; turn < turns; ++turn) {
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!apiKey.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + apiKey).c_str());
    Transfer first;
    first.stopAfter = dropAfter;
    std::string body = nlohmann::json{{"message", "Create an email campaign for our spring sale #" + std::to_string(turn)}}.dump();
    CURL* chat = request(url + "/api/v1/chat/stream", headers, first);
    curl_easy_setopt(chat, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_perform(chat);  // ends with a write error: we dropped it
    curl_easy_cleanup(chat);
    if (first.runId.empty() || first.events < dropAfter) {
      ++errors;
      if (problems.size() < 5) problems.push_back("the first stream gave " + std::to_string(first.events) + " events");
      curl_slist_free_all(headers);
      continue;
    }
    Transfer again;
    again.stopAfter = 1;
    curl_slist* resume = curl_slist_append(headers, ("Last-Event-ID: " + std::to_string(first.lastId)).c_str());
    CURL* reconnect = request(url + "/api/v1/runs/" + first.runId + "/stream", resume, again);
    auto started = Clock::now();
    curl_easy_perform(reconnect);
    curl_easy_cleanup(reconnect);
    curl_slist_free_all(resume);
    if (again.events == 0 || again.lastId != first.lastId + 1) {
      ++errors;
      if (problems.size() < 5) {
        problems.push_back("after id " + std::to_string(first.lastId) + " the reconnect began at " + std::to_string(again.lastId));
      }
      continue;
    }
    firstMissed.push_back(std::chrono::duration<double, std::milli>(again.firstEvent - started).count());
  }
  nlohmann::json out = {{"turns", turns},
                        {"errors", errors},
                        {"problems", problems},
                        {"firstMissedEventMs",
                         {{"p50", percentile(firstMissed, 0.5)}, {"p90", percentile(firstMissed, 0.9)},
                          {"p99", percentile(firstMissed, 0.99)}, {"max", firstMissed.empty() ? -1.0 : *std::max_element(firstMissed.begin(), firstMissed.end())}}}};
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 ? 0 : 1;
}
