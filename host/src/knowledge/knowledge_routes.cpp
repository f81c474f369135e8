#include "knowledge/knowledge_routes.hpp"

#include <future>

#include "chat/run_manager.hpp"
#include "chat/sse_connection.hpp"
#include "http/http_cache.hpp"
#include "mx/json_parse.hpp"

namespace mx::host::knowledge {

using Pistache::Http::Code;
using Pistache::Http::Method;
using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;
using http::RequestContext;

namespace {

const std::vector<std::string> kContentTypes = {"email", "ad", "landing-page", "script"};
const std::vector<std::string> kCategories = {"template", "framework", "compliance"};

bool oneOf(const std::string& value, const std::vector<std::string>& options) {
  return std::find(options.begin(), options.end(), value) != options.end();
}

const char* reason(int code) {
  switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A whole response from any thread: the one safe write path of Pistache 0.0.5.
// `headers` are extra header lines, each ending in \r\n.
void sendRawLater(const std::weak_ptr<Pistache::Tcp::Peer>& weak, int code, const std::string& payload,
                  const std::string& requestId, const std::string& headers = "") {
  auto peer = weak.lock();
  if (!peer) return;
  std::string response = "HTTP/1.1 " + std::to_string(code) + " " + reason(code) +
                         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(payload.size()) +
                         "\r\nX-Request-Id: " + requestId + "\r\n" + headers + "Connection: close\r\n\r\n" + payload;
  size_t length = response.size();
  peer->send(Pistache::RawBuffer(std::move(response), length));
}

void sendLater(const std::weak_ptr<Pistache::Tcp::Peer>& weak, int code, const Json& body, const std::string& requestId) {
  sendRawLater(weak, code, body.dump(-1, ' ', false, Json::error_handler_t::replace), requestId);
}

// 200 with an ETag and Cache-Control, or 304 when the client has this body already.
void sendCacheableLater(const std::weak_ptr<Pistache::Tcp::Peer>& weak, const Json& body, const std::string& ifNoneMatch,
                        const http::HttpCachePolicy& policy, const std::string& requestId) {
  std::string payload = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string etag = http::etagFor(payload);
  std::string headers = "ETag: " + etag + "\r\nCache-Control: " + http::cacheControl(policy) + "\r\n";
  if (!ifNoneMatch.empty() && http::ifNoneMatchHits(ifNoneMatch, etag)) return sendRawLater(weak, 304, "", requestId, headers);
  sendRawLater(weak, 200, payload, requestId, headers);
}

void sendStatusLater(const std::weak_ptr<Pistache::Tcp::Peer>& peer, const Status& status, const std::string& requestId) {
  sendLater(peer, static_cast<int>(http::httpCodeFor(status.code())), http::errorJson(status, requestId), requestId);
}

Json resourceJson(const ResourceRecord& r, bool withContent) {
  Json json = {{"id", r.id}, {"title", r.title}, {"resourceType", r.resourceType}, {"format", r.format},
               {"chunkCount", r.chunkCount}, {"embeddingModel", r.embeddingModel}, {"createdAt", r.createdAtMs}};
  if (withContent) json["content"] = r.content;
  return json;
}

void clearLayer(const std::shared_ptr<CacheBackend>& cache, const std::string& prefix) {
  if (cache) (void)cache->erasePrefix(prefix);  // an outage only delays freshness by the TTL
}

Result<std::string> caller(const Request& request, const chat::Authenticator& auth) {
  auto raw = request.headers().tryGetRaw("Authorization");
  return auth.authenticate(raw ? std::optional<std::string>(raw->value()) : std::nullopt);
}

}  // namespace

Result<ResourceRecord> ingest(const KnowledgeServices& services, const std::string& userId, const Json& request,
                              const std::function<void(const std::string&, size_t, size_t)>& progress) {
  if (!request.is_object()) return invalidArgumentError("request body must be a JSON object");
  for (const char* field : {"title", "resourceType", "content"}) {
    if (!request.contains(field) || !request[field].is_string() || request[field].get<std::string>().empty()) {
      return invalidArgumentError(std::string("\"") + field + "\" is required and must be a non-empty string");
    }
  }
  std::string format = request.value("format", "text");
  if (format == "pdf") {
    // Debian 12's PDF text extractors are poppler (GPL) and MuPDF (AGPL): linking
    // either would put the whole server under a copyleft licence.
    return invalidArgumentError("\"format\": pdf is not accepted; extract the text (e.g. pdftotext -layout) and send it as "
                                "text or markdown");
  }
  if (format != "text" && format != "markdown" && format != "html") {
    return invalidArgumentError("\"format\" must be text, markdown or html");
  }
  ResourceRecord resource;
  resource.id = chat::newId("res_");
  resource.userId = userId;
  resource.title = request["title"];
  resource.resourceType = request["resourceType"];
  resource.format = format;
  resource.content = format == "html" ? htmlToText(request["content"]) : request["content"].get<std::string>();
  resource.embeddingModel = services.embedder ? services.embedder->modelName() : "none";
  resource.createdAtMs = chat::nowMillis();
  auto pieces = chunkDocument(request["content"], format, services.chunking);
  progress("chunked", pieces.size(), pieces.size());
  std::vector<ChunkRecord> chunks;
  for (size_t i = 0; i < pieces.size(); ++i) {
    chunks.push_back({resource.id + "-" + std::to_string(i), resource.id, static_cast<int64_t>(i), pieces[i].heading, pieces[i].text, {}});
  }
  if (services.embedder) {
    for (size_t begin = 0; begin < chunks.size(); begin += services.embedBatch) {
      size_t end = std::min(chunks.size(), begin + services.embedBatch);
      std::vector<std::string> texts;
      for (size_t i = begin; i < end; ++i) texts.push_back(chunks[i].heading + "\n" + chunks[i].text);
      auto vectors = services.embedder->embed(texts, {});
      if (!vectors) return vectors.status().withContext("embedding chunks " + std::to_string(begin) + "-" + std::to_string(end));
      for (size_t i = begin; i < end; ++i) chunks[i].embedding = std::move((*vectors)[i - begin]);
      progress("embedded", end, chunks.size());
    }
  }
  resource.chunkCount = static_cast<int64_t>(chunks.size());
  MX_RETURN_IF_ERROR(services.store->putResource(resource, chunks));
  progress("stored", chunks.size(), chunks.size());
  clearLayer(services.cache, "knowledge:" + userId + ":");
  return resource;
}

void addKnowledgeRoutes(http::HttpServer& server, KnowledgeServices& services, const chat::Authenticator& auth,
                        WorkerPool& workers) {
  server.route(Method::Post, "/api/v1/resources", [&services, &auth, &workers](const Request& request, ResponseWriter& response,
                                                                              RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    std::string error;
    Json body = parseJson(request.body(), &error);
    if (body.is_discarded()) {
      return http::sendError(response, Code::Bad_Request, "invalid_argument", "request body is not valid JSON: " + error, context);
    }
    auto accept = request.headers().tryGetRaw("Accept");
    bool streaming = accept && accept->value().find("text/event-stream") != std::string::npos;
    std::string requestId = context.requestId;
    if (streaming) {
      response.headers().add<Pistache::Http::Header::ContentType>(Pistache::Http::Mime::MediaType::fromString("text/event-stream"));
      auto connection = chat::SseConnection::open(response);
      workers.post([&services, user = *user, body, connection] {
        int64_t id = 0;
        auto result = ingest(services, user, body, [&](const std::string& stage, size_t done, size_t total) {
          connection->frame(++id, "progress", Json{{"stage", stage}, {"done", done}, {"total", total}}.dump());
        });
        if (result) {
          connection->frame(++id, "resource", resourceJson(*result, false).dump());
        } else {
          connection->frame(++id, "error", Json{{"code", codeName(result.status().code())}, {"message", result.status().message()}}.dump());
        }
        connection->finish();
      });
      return;
    }
    std::weak_ptr<Pistache::Tcp::Peer> peer = response.peer();
    workers.post([&services, user = *user, body, peer, requestId] {
      auto result = ingest(services, user, body, [](const std::string&, size_t, size_t) {});
      if (!result) return sendStatusLater(peer, result.status(), requestId);
      sendLater(peer, 201, resourceJson(*result, false), requestId);
    });
  });

  server.route(Method::Get, "/api/v1/resources", [&services, &auth](const Request& request, ResponseWriter& response, RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    int limit = std::clamp(std::stoi(request.query().get("limit").value_or("20")), 1, 100);
    int offset = std::max(0, std::stoi(request.query().get("offset").value_or("0")));
    auto list = services.store->listResources(*user, {limit, offset});
    if (!list) return http::sendStatusError(response, list.status(), context);
    Json out = Json::array();
    for (const auto& r : *list) out.push_back(resourceJson(r, false));
    http::sendJson(response, Code::Ok, {{"resources", out}, {"limit", limit}, {"offset", offset}});
  });

  server.route(Method::Get, "/api/v1/resources/:id", [&services, &auth](const Request& request, ResponseWriter& response, RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    auto resource = services.store->getResource(*user, request.param(":id").as<std::string>());
    if (!resource) return http::sendStatusError(response, resource.status(), context);
    http::sendJson(response, Code::Ok, resourceJson(*resource, true));
  });

  server.route(Method::Delete, "/api/v1/resources/:id", [&services, &auth](const Request& request, ResponseWriter& response, RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    std::string id = request.param(":id").as<std::string>();
    Status deleted = services.store->deleteResource(*user, id);
    if (!deleted.isOk()) return http::sendStatusError(response, deleted, context);
    clearLayer(services.cache, "knowledge:" + *user + ":");
    http::sendJson(response, Code::Ok, {{"id", id}, {"deleted", true}});
  });

  server.route(Method::Get, "/api/v1/canon/:contentType", [&services, &auth, &workers](const Request& request, ResponseWriter& response,
                                                                                     RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    if (!services.canonTool) return http::sendError(response, Code::Not_Found, "not_found", "no fetch-canon tool is configured", context);
    std::string type = request.param(":contentType").as<std::string>();
    if (!oneOf(type, kContentTypes)) {
      return http::sendError(response, Code::Bad_Request, "invalid_argument", "content type must be email, ad, landing-page or script", context);
    }
    std::weak_ptr<Pistache::Tcp::Peer> peer = response.peer();
    std::string requestId = context.requestId;
    auto ifNoneMatch = request.headers().tryGetRaw("If-None-Match");
    std::string validator = ifNoneMatch ? ifNoneMatch->value() : "";
    workers.post([&services, user = *user, type, peer, requestId, validator] {
      auto toolContext = std::make_shared<ToolContext>();
      toolContext->userId = user;
      services.canonTool->invoke({{"category", "all"}, {"contentType", type}}, toolContext,
                                 [peer, requestId, validator, policy = services.httpCache](Result<Json> result) {
        if (!result) return sendStatusLater(peer, result.status(), requestId);
        sendCacheableLater(peer, *result, validator, policy, requestId);
      });
    });
  });

  auto canonEntry = [&services, &auth](const Request& request, ResponseWriter& response, RequestContext& context, bool remove) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    std::string type = request.param(":contentType").as<std::string>();
    std::string category = request.param(":category").as<std::string>();
    std::string id = request.param(":id").as<std::string>();
    if (!oneOf(type, kContentTypes)) {
      return http::sendError(response, Code::Bad_Request, "invalid_argument", "content type must be email, ad, landing-page or script", context);
    }
    if (!oneOf(category, kCategories)) {
      return http::sendError(response, Code::Bad_Request, "invalid_argument", "category must be template, framework or compliance", context);
    }
    Status status;
    if (remove) {
      status = services.store->deleteCanon(*user, type, category, id);
    } else {
      std::string error;
      Json body = parseJson(request.body(), &error);
      if (body.is_discarded()) {
        return http::sendError(response, Code::Bad_Request, "invalid_argument", "request body is not valid JSON: " + error, context);
      }
      if (!body.is_object()) return http::sendError(response, Code::Bad_Request, "invalid_argument", "the entry must be a JSON object", context);
      if (category == "template" && !(body.contains("body") && body["body"].is_string())) {
        return http::sendError(response, Code::Bad_Request, "invalid_argument", "a template needs a \"body\" string with {{slot}} placeholders", context);
      }
      if (category == "compliance" && !(body.contains("type") && body["type"].is_string())) {
        return http::sendError(response, Code::Bad_Request, "invalid_argument", "a compliance rule needs a \"type\"", context);
      }
      status = services.store->putCanon({*user, type, category, id, body, chat::nowMillis()});
    }
    if (!status.isOk()) return http::sendStatusError(response, status, context);
    clearLayer(services.cache, "canon:" + *user + ":");
    http::sendJson(response, Code::Ok, {{"contentType", type}, {"category", category}, {"id", id}, {"deleted", remove}});
  };
  server.route(Method::Put, "/api/v1/canon/:contentType/:category/:id",
               [canonEntry](const Request& r, ResponseWriter& w, RequestContext& c) { canonEntry(r, w, c, false); });
  server.route(Method::Delete, "/api/v1/canon/:contentType/:category/:id",
               [canonEntry](const Request& r, ResponseWriter& w, RequestContext& c) { canonEntry(r, w, c, true); });
}

}  // namespace mx::host::knowledge
