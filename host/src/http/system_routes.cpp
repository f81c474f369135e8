#include "http/system_routes.hpp"

#include "http/http_cache.hpp"

namespace mx::host::http {

using Pistache::Http::Code;
using Pistache::Http::Method;
using Pistache::Http::ResponseWriter;
using Pistache::Rest::Request;

void addSystemRoutes(HttpServer& server, const Deployment& deployment, const HealthMonitor& health, const ServerMetrics& metrics) {
  server.route(Method::Get, "/metrics", [&metrics](const Request&, ResponseWriter& response, RequestContext&) {
    response.headers().add<Pistache::Http::Header::ContentType>(MIME(Text, Plain));
    response.send(Code::Ok, metrics.render());
  });

  server.route(Method::Get, "/healthz", [](const Request&, ResponseWriter& response, RequestContext&) {
    sendJson(response, Code::Ok, {{"status", "ok"}});
  });

  server.route(Method::Get, "/readyz", [&health](const Request&, ResponseWriter& response, RequestContext&) {
    bool ready = health.ready();
    Json components = Json::object();
    for (const auto& [label, state] : health.snapshot()) {
      components[label] = state;
    }
    sendJson(response, ready ? Code::Ok : Code::Service_Unavailable,
             {{"status", ready ? "ready" : "not_ready"}, {"components", std::move(components)}});
  });

  Json plugins = deployment.describePlugins();
  plugins["components"] = deployment.describeComponents();
  for (auto& component : plugins["components"]) {
    component.erase("config");  // config stays with operators (check-config), not the API
  }
  HttpCachePolicy cachePolicy{std::chrono::seconds(deployment.config().server.value("http_cache_seconds", int64_t{300}))};
  std::string models = deployment.models()->describe().dump();
  server.route(Method::Get, "/api/v1/models",
               [body = models, etag = etagFor(models), cache = cacheControl(cachePolicy)](const Request& request,
                                                                                         ResponseWriter& response, RequestContext&) {
                 addHeader(response, "ETag", etag);
                 addHeader(response, "Cache-Control", cache);
                 auto ifNoneMatch = request.headers().tryGetRaw("If-None-Match");
                 if (ifNoneMatch && ifNoneMatchHits(ifNoneMatch->value(), etag)) {
                   response.send(Code::Not_Modified);
                   return;
                 }
                 response.headers().add<Pistache::Http::Header::ContentType>(MIME(Application, Json));
                 response.send(Code::Ok, body);
               });

  server.route(Method::Get, "/api/v1/plugins",
               [body = plugins.dump()](const Request&, ResponseWriter& response, RequestContext&) {
                 response.headers().add<Pistache::Http::Header::ContentType>(MIME(Application, Json));
                 response.send(Code::Ok, body);
               });
}

}  // namespace mx::host::http
