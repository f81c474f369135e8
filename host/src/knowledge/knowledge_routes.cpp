#include "knowledge/knowledge_routes.hpp"

#include "chat/run_manager.hpp"
#include "chat/sse_connection.hpp"
#include "http/deferred_response.hpp"
#include "http/http_cache.hpp"
#include "mx/json_parse.hpp"
#include "mx/record_id.hpp"

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
  resource.id = newRecordId("res_");
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
                        WorkerPool& blockingWork) {
  server.route(Method::Post, "/api/v1/resources", [&services, &auth, &blockingWork](const Request& request, ResponseWriter& response,
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
      blockingWork.post([&services, user = *user, body, connection] {
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
    blockingWork.post([&services, user = *user, body, later = http::DeferredResponse(response, requestId)] {
      auto result = ingest(services, user, body, [](const std::string&, size_t, size_t) {});
      if (!result) return later.error(result.status());
      later.json(201, resourceJson(*result, false));
    });
  });

  server.route(Method::Get, "/api/v1/resources", [&services, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                   RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    auto limit = http::queryInt(request, "limit", 20, 1, 100);
    if (!limit) return http::sendStatusError(response, limit.status(), context);
    auto offset = http::queryInt(request, "offset", 0, 0, 1000000);
    if (!offset) return http::sendStatusError(response, offset.status(), context);
    blockingWork.post([&services, user = *user, page = Page{*limit, *offset}, later = http::DeferredResponse(response, context.requestId)] {
      auto list = services.store->listResources(user, page);
      if (!list) return later.error(list.status());
      Json out = Json::array();
      for (const auto& r : *list) out.push_back(resourceJson(r, false));
      later.json(200, {{"resources", out}, {"limit", page.limit}, {"offset", page.offset}});
    });
  });

  server.route(Method::Get, "/api/v1/resources/:id", [&services, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                       RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    blockingWork.post([&services, user = *user, id = request.param(":id").as<std::string>(),
                       later = http::DeferredResponse(response, context.requestId)] {
      auto resource = services.store->getResource(user, id);
      if (!resource) return later.error(resource.status());
      later.json(200, resourceJson(*resource, true));
    });
  });

  server.route(Method::Delete, "/api/v1/resources/:id", [&services, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                          RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    blockingWork.post([&services, user = *user, id = request.param(":id").as<std::string>(),
                       later = http::DeferredResponse(response, context.requestId)] {
      Status deleted = services.store->deleteResource(user, id);
      if (!deleted.isOk()) return later.error(deleted);
      clearLayer(services.cache, "knowledge:" + user + ":");
      later.json(200, {{"id", id}, {"deleted", true}});
    });
  });

  server.route(Method::Get, "/api/v1/canon/:contentType", [&services, &auth, &blockingWork](const Request& request, ResponseWriter& response,
                                                                                            RequestContext& context) {
    auto user = caller(request, auth);
    if (!user) return http::sendStatusError(response, user.status(), context);
    if (!services.canonTool) return http::sendError(response, Code::Not_Found, "not_found", "no fetch-canon tool is configured", context);
    std::string type = request.param(":contentType").as<std::string>();
    if (!oneOf(type, kContentTypes)) {
      return http::sendError(response, Code::Bad_Request, "invalid_argument", "content type must be email, ad, landing-page or script", context);
    }
    auto ifNoneMatch = request.headers().tryGetRaw("If-None-Match");
    std::string validator = ifNoneMatch ? ifNoneMatch->value() : "";
    blockingWork.post([&services, user = *user, type, validator, later = http::DeferredResponse(response, context.requestId)] {
      auto toolContext = std::make_shared<ToolContext>();
      toolContext->userId = user;
      services.canonTool->invoke({{"category", "all"}, {"contentType", type}}, toolContext,
                                 [later, validator, policy = services.httpCache](Result<Json> result) {
        if (!result) return later.error(result.status());
        later.cacheable(*result, validator, policy);
      });
    });
  });

  auto canonEntry = [&services, &auth, &blockingWork](const Request& request, ResponseWriter& response, RequestContext& context, bool remove) {
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
    Json body;
    if (!remove) {
      std::string error;
      body = parseJson(request.body(), &error);
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
    }
    blockingWork.post([&services, user = *user, type, category, id, body = std::move(body), remove,
                       later = http::DeferredResponse(response, context.requestId)] {
      Status status = remove ? services.store->deleteCanon(user, type, category, id)
                             : services.store->putCanon({user, type, category, id, body, chat::nowMillis()});
      if (!status.isOk()) return later.error(status);
      clearLayer(services.cache, "canon:" + user + ":");
      later.json(200, {{"contentType", type}, {"category", category}, {"id", id}, {"deleted", remove}});
    });
  };
  server.route(Method::Put, "/api/v1/canon/:contentType/:category/:id",
               [canonEntry](const Request& r, ResponseWriter& w, RequestContext& c) { canonEntry(r, w, c, false); });
  server.route(Method::Delete, "/api/v1/canon/:contentType/:category/:id",
               [canonEntry](const Request& r, ResponseWriter& w, RequestContext& c) { canonEntry(r, w, c, true); });
}

}  // namespace mx::host::knowledge
