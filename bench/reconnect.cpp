// mx_reconnect_bench: how fast a client that lost its stream gets going again
// (issue 7: its first missed event within 5 ms p99). For each of N turns it
// opens a chat stream, drops it after K events and reconnects twice to
// GET /api/v1/runs/{runId}/stream with Last-Event-ID K:
//  - the first reconnect times the request until the next event (K+1) arrives.
//    If the run had not produced K+1 yet (it waits on a model, or on a core),
//    this includes the run's own progress: "next event".
//  - it drops again after that one event, so K+1 now exists, and the second
//    reconnect with the same Last-Event-ID times the request until K+1 arrives:
//    an event the client missed, replayed from the run's log (or, for a finished
//    run, from the store): "first missed event", what the target is about.
// A chat turn refused with 503 (the server's limit of turns in progress) is
// sent again after its Retry-After. Prints one JSON object with both sets of
// percentiles. Blocking libcurl, one
// turn at a time; run it beside a load generator to measure under load.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
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

nlohmann::json summary(const std::vector<double>& ms) {
  return {{"p50", percentile(ms, 0.5)},
          {"p90", percentile(ms, 0.9)},
          {"p99", percentile(ms, 0.99)},
          {"max", ms.empty() ? -1.0 : *std::max_element(ms.begin(), ms.end())}};
}

curl_slist* requestHeaders(const std::string& apiKey) {
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!apiKey.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + apiKey).c_str());
  return headers;
}

struct Reconnected {
  double ms = -1;       // from the request to the first event
  std::string problem;  // empty when that event was the one after Last-Event-ID
};

// Reconnects with Last-Event-ID `lastId`, reads one event and drops the stream.
Reconnected reconnect(const std::string& url, const std::string& apiKey, long lastId) {
  Transfer again;
  again.stopAfter = 1;
  curl_slist* headers = curl_slist_append(requestHeaders(apiKey), ("Last-Event-ID: " + std::to_string(lastId)).c_str());
  CURL* easy = request(url, headers, again);
  auto started = Clock::now();
  curl_easy_perform(easy);
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  if (again.events == 0 || again.lastId != lastId + 1) {
    return {-1, "after id " + std::to_string(lastId) + " the reconnect began at " + std::to_string(again.lastId)};
  }
  return {std::chrono::duration<double, std::milli>(again.firstEvent - started).count(), ""};
}

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
  std::vector<double> nextEvent, firstMissed;
  size_t errors = 0;
  std::vector<std::string> problems;
  for (size_t turn = 0; turn < turns; ++turn) {
    curl_slist* headers = requestHeaders(apiKey);
    Transfer first;
    std::string body = nlohmann::json{{"message", "Create an email campaign for our spring sale #" + std::to_string(turn)}}.dump();
    // A turn refused at the server's limit of turns in progress (503) is sent again after Retry-After.
    for (int attempt = 0; attempt < 600; ++attempt) {
      first = Transfer();
      first.stopAfter = dropAfter;
      CURL* chat = request(url + "/api/v1/chat/stream", headers, first);
      curl_easy_setopt(chat, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_perform(chat);  // ends with a write error: we dropped it
      long status = 0;
      curl_off_t retryAfter = 1;
      curl_easy_getinfo(chat, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(chat, CURLINFO_RETRY_AFTER, &retryAfter);
      curl_easy_cleanup(chat);
      if (status != 503) break;
      std::this_thread::sleep_for(std::chrono::seconds(std::max<curl_off_t>(retryAfter, 1)));
    }
    if (first.runId.empty() || first.events < dropAfter) {
      ++errors;
      if (problems.size() < 5) problems.push_back("the first stream gave " + std::to_string(first.events) + " events");
      curl_slist_free_all(headers);
      continue;
    }
    curl_slist_free_all(headers);
    std::string runStream = url + "/api/v1/runs/" + first.runId + "/stream";
    Reconnected next = reconnect(runStream, apiKey, first.lastId);
    Reconnected missed = next.problem.empty() ? reconnect(runStream, apiKey, first.lastId) : next;
    if (!missed.problem.empty()) {
      ++errors;
      if (problems.size() < 5) problems.push_back(missed.problem);
      continue;
    }
    nextEvent.push_back(next.ms);
    firstMissed.push_back(missed.ms);
  }
  nlohmann::json out = {{"turns", turns},
                        {"errors", errors},
                        {"problems", problems},
                        {"nextEventMs", summary(nextEvent)},
                        {"firstMissedEventMs", summary(firstMissed)}};
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 ? 0 : 1;
}
