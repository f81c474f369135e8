// The server through real HTTP: system routes, request ids, the JSON error
// shape, readiness, graceful shutdown on SIGTERM and SIGINT.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "postgres_server.hpp"
#include "process.hpp"

namespace {

using mx::test::httpGet;
using mx::test::ServerProcess;
using mx::test::TempDir;
using Json = nlohmann::json;

std::string config(const std::string& extra = "") {
  return "[server]\nport = 0\nhealth_interval_ms = 100\n"
         "[[plugins]]\npath = \"" MX_PLUGIN_DIR "/cache_memory.so\"\n"
         "[[plugins]]\npath = \"" MX_TEST_PLUGIN_DIR "/good_plugin.so\"\n"
         "[caches.main]\nfactory = \"memory\"\n" + extra;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(const std::string& extra = "") {
    file_ = dir_.write("deploy.toml", config(extra));
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{MX_BINARY, "serve", "--config", file_});
    ASSERT_TRUE(server_->started()) << server_->stderrText();
  }
  std::string url(const std::string& path) const { return server_->baseUrl() + path; }

  TempDir dir_;
  std::string file_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerTest, HealthzAnswersOk) {
  start();
  auto response = httpGet(url("/healthz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Json::parse(response.body), Json({{"status", "ok"}}));
  EXPECT_EQ(response.headers["content-type"], "application/json");
}

TEST_F(ServerTest, ReadyzIsReadyWhenEveryComponentIsHealthy) {
  start();
  auto response = httpGet(url("/readyz"));
  EXPECT_EQ(response.status, 200) << response.body;
  auto body = Json::parse(response.body);
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["components"]["[caches.main]"], "ok");
}

TEST_F(ServerTest, ReadyzIsNotReadyWhileABackendIsDown) {
  start("[caches.flaky]\nfactory = \"switch\"\nhealthy = false\n");
  auto response = httpGet(url("/readyz"));
  EXPECT_EQ(response.status, 503);
  auto body = Json::parse(response.body);
  EXPECT_EQ(body["status"], "not_ready");
  EXPECT_EQ(body["components"]["[caches.flaky]"], "unavailable: switched off by config");
  EXPECT_EQ(httpGet(url("/healthz")).status, 200);  // alive, just not ready
}

TEST_F(ServerTest, PluginsEndpointListsPluginsVersionsAndComponents) {
  start();
  auto response = httpGet(url("/api/v1/plugins"));
  ASSERT_EQ(response.status, 200);
  auto body = Json::parse(response.body);
  ASSERT_EQ(body["plugins"].size(), 2u);
  EXPECT_EQ(body["plugins"][0]["name"], "cache_memory");
  EXPECT_EQ(body["plugins"][1]["version"], "1.2.3");
  EXPECT_EQ(body["plugins"][1]["components"].size(), 3u);
  ASSERT_EQ(body["components"].size(), 1u);
  EXPECT_EQ(body["components"][0]["instance"], "main");
  EXPECT_EQ(body["components"][0]["plugin"], "cache_memory");
  EXPECT_FALSE(body["components"][0].contains("config"));
}

TEST_F(ServerTest, RequestIdsAreTakenFromTheRequestOrGenerated) {
  start();
  auto given = httpGet(url("/healthz"), {{"X-Request-Id", "trace-42"}});
  EXPECT_EQ(given.headers["x-request-id"], "trace-42");
  auto generated = httpGet(url("/healthz"));
  EXPECT_EQ(generated.headers["x-request-id"].rfind("req_", 0), 0u);
  auto other = httpGet(url("/healthz"));
  EXPECT_NE(generated.headers["x-request-id"], other.headers["x-request-id"]);
  auto insane = httpGet(url("/healthz"), {{"X-Request-Id", std::string(300, 'a')}});
  EXPECT_EQ(insane.headers["x-request-id"].rfind("req_", 0), 0u);
}

TEST_F(ServerTest, UnknownRoutesGetTheJsonErrorShape) {
  start();
  auto response = httpGet(url("/api/v1/nothing"), {{"X-Request-Id", "abc"}});
  EXPECT_EQ(response.status, 404);
  auto body = Json::parse(response.body);
  EXPECT_EQ(body, Json({{"error", {{"code", "not_found"}, {"message", "no route for GET /api/v1/nothing"},
                                   {"requestId", "abc"}}}}));
}

TEST_F(ServerTest, SigtermStopsGracefully) {
  start();
  ASSERT_EQ(httpGet(url("/healthz")).status, 200);
  EXPECT_EQ(server_->stop(SIGTERM), 0);
  EXPECT_NE(server_->stderrText().find("received SIGTERM, shutting down"), std::string::npos);
  EXPECT_NE(server_->stderrText().find("stopped"), std::string::npos);
}

TEST_F(ServerTest, SigintStopsGracefully) {
  start();
  EXPECT_EQ(server_->stop(SIGINT), 0);
  EXPECT_NE(server_->stderrText().find("received SIGINT"), std::string::npos);
}

TEST(Server, TwoServersCannotShareAPort) {
  TempDir dir;
  std::string file = dir.write("deploy.toml", config());
  ServerProcess first({MX_BINARY, "serve", "--config", file});
  ASSERT_TRUE(first.started());
  auto second = mx::test::runProcess(
      {MX_BINARY, "serve", "--config", file, "--port", std::to_string(first.port())});
  EXPECT_EQ(second.exitCode, 1);
  EXPECT_NE(second.err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << second.err;
}

TEST(Server, ShippedDefaultConfigServesHealthzAndTheOfflineModel) {
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/default.toml", "--port", "0"},
                       {{"MX_PLUGIN_DIR", MX_PLUGIN_DIR}});
  ASSERT_TRUE(server.started()) << server.stderrText();
  EXPECT_EQ(httpGet(server.baseUrl() + "/healthz").body, "{\"status\":\"ok\"}");
  EXPECT_EQ(httpGet(server.baseUrl() + "/readyz").status, 200);
  auto models = Json::parse(httpGet(server.baseUrl() + "/api/v1/models").body);
  ASSERT_EQ(models["models"].size(), 1u);
  EXPECT_EQ(models["models"][0]["id"], "offline");
  EXPECT_EQ(models["models"][0]["offline"], true);
  EXPECT_EQ(models["models"][0]["provider"], "offline");
  EXPECT_EQ(models["defaults"], Json({{"tier1", "offline"}, {"tier2", "offline"}}));
  auto first = httpGet(server.baseUrl() + "/api/v1/models");
  ASSERT_FALSE(first.headers["etag"].empty());
  EXPECT_EQ(first.headers["cache-control"], "private, max-age=300");
  auto again = httpGet(server.baseUrl() + "/api/v1/models", {{"If-None-Match", first.headers["etag"]}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST(Server, ProductionModelCatalogueIsServed) {
  mx::test::PostgresServer postgres;
  ASSERT_EQ(postgres.error(), "");
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/production.toml", "--port", "0", "--host", "127.0.0.1"},
                       {{"MX_PLUGIN_DIR", MX_PLUGIN_DIR}, {"ANTHROPIC_API_KEY", "sk-ant-test"}, {"OPENAI_API_KEY", "sk-test"},
                        {"MX_DATA_DIR", "/tmp"}, {"DATABASE_URL", postgres.url()}, {"MX_VECTOR_SEARCH", "exact"}});
  ASSERT_TRUE(server.started()) << server.stderrText();
  auto models = Json::parse(httpGet(server.baseUrl() + "/api/v1/models").body);
  ASSERT_EQ(models["models"].size(), 3u);
  EXPECT_EQ(models["defaults"], Json({{"tier1", "claude-sonnet-4-5"}, {"tier2", "claude-haiku-4-5"}}));
  EXPECT_EQ(models["models"][0]["pricing"]["input"], 3.0);
  EXPECT_EQ(models["models"][0]["fallback"], "claude-haiku-4-5");
}

}  // namespace
