#include "sse_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <sys/socket.h>

#include "http_client.hpp"
#include "net/sse_decoder.hpp"

namespace mx::test {

namespace {

struct State {
  SseResult result;
  const SseOptions* options;
  host::SseDecoder decoder;
  bool cut = false;
  bool stalled = false;
};

int setReceiveBuffer(void* user, curl_socket_t socket, curlsocktype) {
  int bytes = *static_cast<const int*>(user);
  ::setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  return CURL_SOCKOPT_OK;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  addHeaderLine(std::string(data, size * count), static_cast<State*>(user)->result.headers);
  return size * count;
}

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<State*>(user);
  if (!state->stalled && state->options->stallAfterFirstBytesMs > 0) {
    state->stalled = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(state->options->stallAfterFirstBytesMs));
  }
  std::string_view chunk(data, size * count);
  if (state->result.headers["content-type"].rfind("text/event-stream", 0) != 0) {
    state->result.body.append(chunk);
    return size * count;
  }
  for (size_t i = 0; i + 1 < chunk.size(); ++i) {
    if ((i == 0 || chunk[i - 1] == '\n') && chunk[i] == ':') ++state->result.comments;
  }
  state->decoder.feed(chunk, [&](const SseEvent& e) {
    if (state->cut) return;
    SseEventRecord record{std::string(e.id), std::string(e.event), std::string(e.data)};
    state->result.events.push_back(record);
    if (state->options->onEvent) state->options->onEvent(record, state->result.headers);
    if (state->options->cutAfterEvents > 0 && state->result.events.size() >= state->options->cutAfterEvents) state->cut = true;
  });
  return state->cut ? 0 : size * count;  // 0 aborts the transfer: a client that drops
}

}  // namespace

SseConnections::SseConnections() : share_(curl_share_init()) {
  curl_share_setopt(static_cast<CURLSH*>(share_), CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
}

SseConnections::~SseConnections() { curl_share_cleanup(static_cast<CURLSH*>(share_)); }

SseResult openSse(const std::string& method, const std::string& url, const std::string& body, const SseOptions& options) {
  State state;
  state.options = &options;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& [k, v] : options.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options.timeoutMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (options.receiveBufferBytes > 0) {
    curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, setReceiveBuffer);
    curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, &options.receiveBufferBytes);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 1024L);
  }
  if (options.connections != nullptr) curl_easy_setopt(curl, CURLOPT_SHARE, options.connections->share());
  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &state.result.newConnections);
  state.result.endedCleanly = code == CURLE_OK;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &state.result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return state.result;
}

}  // namespace mx::test
