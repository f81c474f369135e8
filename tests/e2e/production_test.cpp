// config/production.toml end to end: the tool-calling agent graph on the
// Anthropic provider (Tier 1 and Tier 2), OpenAI embeddings for knowledge,
// Tavily web search, a real Redis cache, API-key auth and PostgreSQL: once on
// Debian's PostgreSQL 15 (vector_search = "exact": Debian 12 has no pgvector)
// and once on PGlite with the real pgvector extension. The paid services
// are one local mock speaking their wire formats; the Tier 1 mock is a small
// scripted agent that calls the tools in the architecture's order.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "scripted_agent.hpp"
#include "api_mock.hpp"
#include "chat/auth.hpp"
#include "http_client.hpp"
#include "mock_http_server.hpp"
#include "mx/store.hpp"
#include "postgres_server.hpp"
#include "process.hpp"
#include "redis_server.hpp"
#include "sse_client.hpp"

namespace mx::test {
namespace {

using Json = nlohmann::json;

const char* kApiKey = "mx-test-key-1";

// The database the server runs on: DATABASE_URL and the store settings.
struct Database {
  std::string name;
  std::function<std::map<std::string, std::string>(std::string& error)> start;
};

std::ostream& operator<<(std::ostream& out, const Database& d) { return out << d.name; }

std::map<std::string, std::string> debianPostgres(std::string& error) {
  static PostgresServer server;
  error = server.error();
  if (!error.empty()) return {};
  static int counter = 0;
  return {{"DATABASE_URL", server.createDatabase("production_" + std::to_string(++counter))}, {"MX_VECTOR_SEARCH", "exact"}};
}

std::map<std::string, std::string> pglite(std::string& error) {
  static PgliteServer server;
  error = server.error();
  if (!error.empty()) return {};
  server.reset();
  // One client at a time, one backend for all (postgres_server.hpp).
  return {{"DATABASE_URL", server.url()}, {"MX_VECTOR_SEARCH", "pgvector"}, {"MX_PG_POOL_SIZE", "1"},
          {"MX_PG_PREPARED_STATEMENTS", "false"}};
}

// The environment config/production.toml reads: the mocks, Redis, one API key, the database.
std::map<std::string, std::string> productionEnv(const TempDir& dir, const MockHttpServer& apis, const RedisServer& redis,
                                                 const std::map<std::string, std::string>& database) {
  std::map<std::string, std::string> env = {{"MX_PLUGIN_DIR", MX_PLUGIN_DIR}, {"MX_DATA_DIR", dir.path()}, {"MX_LOG_LEVEL", "warn"},
                                            {"ANTHROPIC_API_KEY", "sk-ant-test"}, {"ANTHROPIC_BASE_URL", apis.baseUrl()},
                                            {"OPENAI_API_KEY", "sk-test"}, {"OPENAI_BASE_URL", apis.baseUrl() + "/v1"},
                                            {"TAVILY_API_KEY", "tvly-test"}, {"TAVILY_BASE_URL", apis.baseUrl()},
                                            {"REDIS_PORT", std::to_string(redis.port())},
                                            {"MX_API_KEY_SHA256", mx::host::chat::sha256Hex(kApiKey)}, {"MX_API_USER", "acme"}};
  env.insert(database.begin(), database.end());
  return env;
}

class Production : public ::testing::TestWithParam<Database> {};

INSTANTIATE_TEST_SUITE_P(On, Production,
                         ::testing::Values(Database{"postgres15_exact", debianPostgres}, Database{"pglite_pgvector", pglite}),
                         [](const auto& param) { return param.param.name; });

TEST_P(Production, TheAgentGraphOnAnthropicWithPostgresRedisTavilyAndApiKeys) {
  std::string databaseError;
  auto database = GetParam().start(databaseError);
  ASSERT_EQ(databaseError, "");
  TempDir dir;
  RedisServer redis;
  ASSERT_TRUE(redis.answering());
  MockHttpServer apis([](const MockRequest& request, MockResponse& response) { serveMockApis(AgentScript{}, request, response); });
  auto env = productionEnv(dir, apis, redis, database);
  env["MX_CHAT_GRAPH"] = "agent";
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/production.toml", "--port", "0", "--host", "127.0.0.1"}, env);
  ASSERT_TRUE(server.started()) << server.stderrText();
  std::map<std::string, std::string> auth = {{"Authorization", std::string("Bearer ") + kApiKey}};

  EXPECT_EQ(httpRequest("POST", server.baseUrl() + "/api/v1/chat/stream", R"({"message":"hi"})").status, 401);
  ASSERT_EQ(httpRequest("POST", server.baseUrl() + "/api/v1/resources",
                        Json{{"title", "Spring playbook"}, {"resourceType", "handbook"}, {"format", "markdown"},
                             {"content", "# Spring\n\nLead with the discount. Keep subject lines short."}}.dump(), auth).status, 201);

  SseOptions options;
  options.headers = auth;
  auto stream = openSse("POST", server.baseUrl() + "/api/v1/chat/stream",
                        Json{{"message", "Create an email campaign for our spring sale"}, {"context", {{"enableWebSearch", true}}}}.dump(), options);
  ASSERT_EQ(stream.status, 200) << stream.body;
  ASSERT_FALSE(stream.events.empty());
  EXPECT_EQ(stream.events.back().event, "done");
  EXPECT_TRUE(stream.endedCleanly);
  std::string artifact, answer;
  std::vector<std::string> analyses;
  for (const auto& e : stream.events) {
    if (e.event == "artifact" && e.json()["type"] == "delta") artifact += e.json()["content"].get<std::string>();
    if (e.event == "analysis") analyses.push_back(e.json()["type"]);
    if (e.event == "message") answer = e.json()["content"];
  }
  EXPECT_EQ(artifact, AgentScript{}.draft);
  EXPECT_EQ(answer, AgentScript{}.answer);
  // Each as its tool finishes: the knowledge search (blocking, on the blocking pool) and the web
  // search (an HTTP call) run at once, so either may come first.
  std::sort(analyses.begin(), analyses.end());
  EXPECT_EQ(analyses, (std::vector<std::string>{"knowledge_summary", "research_summary"}));

  // Four Tier 1 calls and one Tier 2 call, with the Anthropic headers; the
  // tool results went back as tool_result blocks in call order.
  std::vector<Json> messagesCalls;
  for (const auto& r : apis.requests()) {
    if (r.path != "/v1/messages") continue;
    EXPECT_EQ(r.header("x-api-key"), "sk-ant-test");
    EXPECT_EQ(r.header("anthropic-version"), "2023-06-01");
    messagesCalls.push_back(Json::parse(r.body));
  }
  ASSERT_EQ(messagesCalls.size(), 5u);
  const Json& second = messagesCalls[1];
  const Json& results = second["messages"].back()["content"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["tool_use_id"], "toolu_canon");
  EXPECT_EQ(results[1]["tool_use_id"], "toolu_search");
  EXPECT_NE(results[1]["content"].get<std::string>().find("Spring playbook"), std::string::npos);
  EXPECT_EQ(results[2]["tool_use_id"], "toolu_web");
  EXPECT_NE(results[2]["content"].get<std::string>().find("tavily.com"), std::string::npos);

  auto conversations = Json::parse(httpGet(server.baseUrl() + "/api/v1/conversations", auth).body);
  ASSERT_EQ(conversations["conversations"].size(), 1u) << conversations.dump();
  auto ready = httpGet(server.baseUrl() + "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;

  // The session cache (architecture: Redis, 30 min) holds the conversation's
  // state; a follow-up turn in the same conversation starts from it and the
  // model sees the first turn.
  std::string conversationId = stream.headers["x-conversation-id"];
  ASSERT_FALSE(conversationId.empty());
  std::string sessionKey = "mx:session:acme:" + conversationId;
  std::string ttl = redis.command({"TTL", sessionKey});
  ASSERT_EQ(ttl.substr(0, 1), ":") << ttl;
  EXPECT_GT(std::stoi(ttl.substr(1)), 1700);
  EXPECT_LE(std::stoi(ttl.substr(1)), 1800);
  size_t callsBefore = apis.requests().size();
  auto followUp = openSse("POST", server.baseUrl() + "/api/v1/chat/stream",
                          Json{{"conversationId", conversationId}, {"message", "Make it shorter"}}.dump(), options);
  ASSERT_EQ(followUp.status, 200) << followUp.body;
  EXPECT_EQ(followUp.events.back().event, "done");
  EXPECT_EQ(followUp.events.back().json()["messageCount"], 4);
  auto requests = apis.requests();
  ASSERT_GT(requests.size(), callsBefore);
  Json firstCallOfFollowUp;
  for (size_t i = callsBefore; i < requests.size() && firstCallOfFollowUp.is_null(); ++i) {
    if (requests[i].path == "/v1/messages") firstCallOfFollowUp = Json::parse(requests[i].body);
  }
  ASSERT_FALSE(firstCallOfFollowUp.is_null());
  EXPECT_EQ(firstCallOfFollowUp["messages"][0]["content"][0]["text"], "Create an email campaign for our spring sale")
      << firstCallOfFollowUp["messages"].dump();
  EXPECT_EQ(firstCallOfFollowUp["messages"].back()["content"][0]["text"], "Make it shorter");
  // Once the session has expired, the next turn starts from the conversation's last checkpoint in
  // PostgreSQL, saved from the state's text alone: the model sees both earlier turns.
  EXPECT_EQ(redis.command({"DEL", sessionKey}), ":1\r\n");
  callsBefore = apis.requests().size();
  auto afterExpiry = openSse("POST", server.baseUrl() + "/api/v1/chat/stream",
                             Json{{"conversationId", conversationId}, {"message", "Add a P.S."}}.dump(), options);
  ASSERT_EQ(afterExpiry.status, 200) << afterExpiry.body;
  EXPECT_EQ(afterExpiry.events.back().event, "done");
  EXPECT_EQ(afterExpiry.events.back().json()["messageCount"], 6);
  requests = apis.requests();
  Json firstCallAfterExpiry;
  for (size_t i = callsBefore; i < requests.size() && firstCallAfterExpiry.is_null(); ++i) {
    if (requests[i].path == "/v1/messages") firstCallAfterExpiry = Json::parse(requests[i].body);
  }
  ASSERT_FALSE(firstCallAfterExpiry.is_null());
  std::string seen = firstCallAfterExpiry["messages"].dump();
  EXPECT_NE(seen.find("Create an email campaign for our spring sale"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Make it shorter"), std::string::npos) << seen;
  EXPECT_EQ(firstCallAfterExpiry["messages"].back()["content"][0]["text"], "Add a P.S.");
  // Deleting the conversation drops its session.
  EXPECT_EQ(httpRequest("DELETE", server.baseUrl() + "/api/v1/conversations/" + conversationId, "", auth).status, 200);
  EXPECT_EQ(redis.command({"EXISTS", sessionKey}), ":0\r\n");

  // The cache is an accelerator: with Redis gone a turn still completes.
  redis.stop();
  auto again = openSse("POST", server.baseUrl() + "/api/v1/chat/stream",
                       Json{{"message", "Create an email campaign for our spring sale"}}.dump(), options);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.events.back().event, "done");
  bool answered = false;
  for (const auto& e : again.events) answered = answered || e.event == "message";
  EXPECT_TRUE(answered);
  EXPECT_EQ(server.stop(SIGTERM), 0);

  // Everything landed in PostgreSQL: both turns, the knowledge with its vectors, the checkpoints.
  pqxx::connection connection(database["DATABASE_URL"]);
  pqxx::read_transaction tx(connection);
  // (the first conversation was deleted: the last turn's conversation remains)
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM messages WHERE user_id = 'acme'")[0].as<int>(), 2);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM artifacts WHERE user_id = 'acme' AND status = 'complete'")[0].as<int>(), 1);
  EXPECT_GE(tx.exec1("SELECT count(*) FROM chunks WHERE user_id = 'acme' AND embedding IS NOT NULL")[0].as<int>(), 1);
  // durability "exit": one checkpoint per run, its final state, and no pending writes
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM checkpoints")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT status FROM checkpoints")[0].as<std::string>(), "completed");
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pending_writes")[0].as<int>(), 0);
  // the run's events in one batch row, its data as it is (not escaped into JSON strings)
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM run_event_batches")[0].as<int>(), 1);
  std::string batch = tx.exec1("SELECT events FROM run_event_batches")[0].as<std::string>();
  EXPECT_EQ(batch.rfind(mx::kRunEventsTextHeader, 0), 0u) << batch.substr(0, 80);
  std::vector<mx::RunEvent> events;
  ASSERT_TRUE(mx::readRunEvents(batch, 0, events)) << batch.substr(0, 80);
  EXPECT_GE(events.size(), 20u);
  EXPECT_EQ(events.back().event, "done");
}

// Debian's PostgreSQL (a fresh database each test), Redis and a temporary directory.
class ProductionOnDebianPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    database = debianPostgres(error);
    ASSERT_EQ(error, "");
    ASSERT_TRUE(redis.answering());
  }
  std::map<std::string, std::string> database;
  TempDir dir;
  RedisServer redis;
};

// The product's flow on the production configuration: the marketer graph on
// Anthropic (intent, brief, answer) with the Tier 2 writer on OpenAI
// (modelPreference tier2 = gpt-4o-mini), on Debian's PostgreSQL and Redis:
// every content type in turn, in one conversation.
TEST_F(ProductionOnDebianPostgres, TheMarketerGraphWithAnOpenAiWriterForEveryContentType) {
  MockHttpServer apis([](const MockRequest& request, MockResponse& response) { serveMockApis(AgentScript{}, request, response); });
  auto env = productionEnv(dir, apis, redis, database);
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/production.toml", "--port", "0", "--host", "127.0.0.1"}, env);
  ASSERT_TRUE(server.started()) << server.stderrText();
  SseOptions options;
  options.headers = {{"Authorization", std::string("Bearer ") + kApiKey}};
  // Each content type, one after the other in the same conversation.
  const std::vector<std::pair<std::string, std::string>> asks = {
      {"email", "Create an email campaign for our spring sale"}, {"ad", "Now write an ad for the same sale"},
      {"landing-page", "And a landing page for it"}, {"script", "Finally a video script for the sale"}};
  std::string conversationId;
  for (size_t turn = 0; turn < asks.size(); ++turn) {
    SCOPED_TRACE(asks[turn].first);
    size_t requestsBefore = apis.requests().size();
    Json body = {{"message", asks[turn].second}, {"modelPreference", {{"tier2", "gpt-4o-mini"}}}, {"context", {{"enableWebSearch", true}}}};
    if (!conversationId.empty()) body["conversationId"] = conversationId;
    auto stream = openSse("POST", server.baseUrl() + "/api/v1/chat/stream", body.dump(), options);
    ASSERT_EQ(stream.status, 200) << stream.body;
    ASSERT_FALSE(stream.events.empty());
    EXPECT_TRUE(stream.endedCleanly);
    conversationId = stream.headers["x-conversation-id"];
    EXPECT_FALSE(stream.headers["x-run-id"].empty());
    std::vector<std::string> steps;  // the flow as the frontend sees it, deltas folded
    std::string artifact, answer, artifactType;
    for (size_t i = 0; i < stream.events.size(); ++i) {
      const auto& e = stream.events[i];
      EXPECT_EQ(e.id, std::to_string(i + 1)) << "ids strictly increasing from 1";
      Json data = e.json();
      std::string step = e.event + "/" + data.value("type", data.value("role", ""));
      if (e.event == "thinking" && data["type"] == "tool_status") step += ":" + data.value("tool", data.value("content", ""));
      if (e.event == "artifact" && data["type"] == "start") artifactType = data["metadata"]["contentType"];
      if (e.event == "artifact" && data["type"] == "delta") artifact += data["content"].get<std::string>();
      if (e.event == "message") answer = data["content"];
      if (steps.empty() || steps.back() != step) steps.push_back(step);
    }
    std::vector<std::string> expected = {
        "thinking/agent_reasoning",                                               // 2. intent
        "thinking/tool_status:fetch-canon",                                       // 3. canon first
        "thinking/agent_reasoning", "thinking/tool_status:knowledge-search",      // 4. knowledge, guided by the canon
        "analysis/knowledge_summary",
        "thinking/agent_reasoning", "thinking/tool_status:web-search",            // 5. web research
        "analysis/research_summary",
        "thinking/tool_status:Preparing the brief", "thinking/agent_reasoning",   // 6. the brief
        "thinking/tool_status:content-execution", "artifact/start", "artifact/delta", "artifact/end",  // 7. Tier 2
        "thinking/tool_status:content-execution",
        "thinking/agent_reasoning", "thinking/tool_status:validate-content",      // 8. validation
        "message/assistant", "done/"};                                            // 10., 11.
    EXPECT_EQ(steps, expected);
    EXPECT_EQ(artifactType, asks[turn].first);
    EXPECT_EQ(artifact, AgentScript{}.draft);
    EXPECT_EQ(answer, AgentScript{}.answer);
    EXPECT_EQ(stream.events.back().json()["messageCount"], 2 * (turn + 1));

    std::vector<Json> anthropicCalls, openAiCalls;
    auto requests = apis.requests();
    for (size_t i = requestsBefore; i < requests.size(); ++i) {
      const auto& r = requests[i];
      if (r.path == "/v1/messages") anthropicCalls.push_back(Json::parse(r.body));
      if (r.path == "/v1/chat/completions") {
        EXPECT_EQ(r.header("authorization"), "Bearer sk-test");
        openAiCalls.push_back(Json::parse(r.body));
      }
    }
    ASSERT_EQ(anthropicCalls.size(), 3u);  // intent, brief, answer
    ASSERT_EQ(anthropicCalls[0]["tools"].size(), 1u);
    EXPECT_EQ(anthropicCalls[0]["tools"][0]["name"], "plan_content");
    // The same conversation: the intent model sees the first turn.
    EXPECT_EQ(anthropicCalls[0]["messages"][0]["content"][0]["text"], asks[0].second);
    EXPECT_EQ(anthropicCalls[1]["tools"][0]["name"], "content-execution");
    EXPECT_FALSE(anthropicCalls[2].contains("tools"));
    ASSERT_EQ(openAiCalls.size(), 1u);
    EXPECT_EQ(openAiCalls[0]["model"], "gpt-4o-mini");
    EXPECT_EQ(openAiCalls[0]["stream"], true);
  }

  auto conversation = Json::parse(httpGet(server.baseUrl() + "/api/v1/conversations/" + conversationId, options.headers).body);
  ASSERT_EQ(conversation["messages"].size(), 8u);
  ASSERT_EQ(conversation["artifacts"].size(), 4u);
  const Json& usage = conversation["messages"][1]["metadata"]["usage"];
  EXPECT_EQ(usage["byModel"]["gpt-4o-mini"]["calls"], 1) << usage.dump();
  EXPECT_EQ(usage["byModel"]["claude-sonnet-4-5"]["calls"], 3) << usage.dump();
  EXPECT_GT(usage["costUsd"].get<double>(), 0.0);
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

// A client that reads slowly: the server writes its stream straight to the
// socket until the socket is full, then through Pistache's queue; the client
// still gets every event once, in order, and the stream's clean end.
TEST_F(ProductionOnDebianPostgres, ASlowClientGetsTheWholeStreamInOrder) {
  AgentScript script;
  script.draft = draftOfWords(60000);  // ~450 KB of text: far more than the sockets hold
  MockHttpServer apis([script](const MockRequest& request, MockResponse& response) { serveMockApis(script, request, response); });
  auto env = productionEnv(dir, apis, redis, database);
  env["MX_CHAT_GRAPH"] = "agent";
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/production.toml", "--port", "0", "--host", "127.0.0.1"}, env);
  ASSERT_TRUE(server.started()) << server.stderrText();
  SseOptions options;
  options.headers = {{"Authorization", std::string("Bearer ") + kApiKey}};
  options.receiveBufferBytes = 4096;
  options.stallAfterFirstBytesMs = 1500;
  options.timeoutMs = 60000;
  auto stream = openSse("POST", server.baseUrl() + "/api/v1/chat/stream",
                        Json{{"message", "Create an email campaign for our spring sale"}}.dump(), options);
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_TRUE(stream.endedCleanly);
  std::string artifact;
  for (size_t i = 0; i < stream.events.size(); ++i) {
    ASSERT_EQ(stream.events[i].id, std::to_string(i + 1)) << "every event once, in order";
    if (stream.events[i].event == "artifact" && stream.events[i].json()["type"] == "delta") {
      artifact += stream.events[i].json()["content"].get<std::string>();
    }
  }
  ASSERT_FALSE(stream.events.empty());
  EXPECT_EQ(stream.events.back().event, "done");
  EXPECT_EQ(artifact, script.draft);
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

// The store goes away between turns: a new turn is answered at once with the
// API's error shape (the turn starts on a worker, after the handler returned),
// and the server goes on answering everything else.
TEST(ProductionStoreOutage, ATurnThatCannotBeRecordedIsRefusedInTheErrorShape) {
  PostgresServer postgres;
  ASSERT_EQ(postgres.error(), "");
  TempDir dir;
  RedisServer redis;
  ASSERT_TRUE(redis.answering());
  MockHttpServer apis([](const MockRequest& request, MockResponse& response) { serveMockApis(AgentScript{}, request, response); });
  auto env = productionEnv(dir, apis, redis, {{"DATABASE_URL", postgres.createDatabase("outage")}, {"MX_VECTOR_SEARCH", "exact"}});
  env["MX_CHAT_GRAPH"] = "agent";
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/production.toml", "--port", "0", "--host", "127.0.0.1"}, env);
  ASSERT_TRUE(server.started()) << server.stderrText();
  std::map<std::string, std::string> headers = {{"Authorization", std::string("Bearer ") + kApiKey}, {"X-Request-Id", "outage-1"}};
  SseOptions options;
  options.headers = headers;
  auto first = openSse("POST", server.baseUrl() + "/api/v1/chat/stream", Json{{"message", "Create an email campaign"}}.dump(), options);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.events.back().event, "done");

  postgres.stop();
  auto refused = httpRequest("POST", server.baseUrl() + "/api/v1/chat/stream", Json{{"message", "Create an email campaign"}}.dump(), headers);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.headers["x-request-id"], "outage-1");
  EXPECT_EQ(refused.headers["content-type"].rfind("application/json", 0), 0u) << refused.headers["content-type"];
  auto error = Json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(error.is_object()) << refused.body;
  EXPECT_EQ(error["error"]["code"], "unavailable");
  EXPECT_EQ(error["error"]["requestId"], "outage-1");
  EXPECT_FALSE(error["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(httpGet(server.baseUrl() + "/healthz").status, 200);  // the process is alive and answering
  // A run not in memory is looked up in the store: with the store down, that is not known.
  auto cancel = httpRequest("POST", server.baseUrl() + "/api/v1/runs/run_nope/cancel", "", headers);
  EXPECT_EQ(cancel.status, 503) << cancel.body;
  EXPECT_EQ(Json::parse(cancel.body, nullptr, false)["error"]["code"], "unavailable") << cancel.body;
  EXPECT_EQ(server.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace mx::test
