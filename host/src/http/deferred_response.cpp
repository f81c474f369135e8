#include "http/deferred_response.hpp"

#include "http/http_server.hpp"

namespace mx::host::http {

void DeferredResponse::raw(int code, const std::string& payload, const std::string& headers) const {
  auto peer = peer_.lock();
  if (!peer) return;
  std::string response = jsonResponseText(code, "X-Request-Id: " + requestId_ + "\r\n" + headers, payload, false);
  size_t length = response.size();
  peer->send(Pistache::RawBuffer(std::move(response), length));
}

void DeferredResponse::json(int code, const Json& body) const {
  raw(code, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void DeferredResponse::error(const Status& status) const {
  json(static_cast<int>(httpCodeFor(status.code())), errorJson(status, requestId_));
}

void DeferredResponse::cacheable(const Json& body, const std::string& ifNoneMatch, const HttpCachePolicy& policy) const {
  std::string payload = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string etag = etagFor(payload);
  std::string headers = "ETag: " + etag + "\r\nCache-Control: " + cacheControl(policy) + "\r\n";
  if (!ifNoneMatch.empty() && ifNoneMatchHits(ifNoneMatch, etag)) return raw(304, "", headers);
  raw(200, payload, headers);
}

}  // namespace mx::host::http
