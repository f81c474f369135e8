// The chat API end to end: a real server process, real HTTP, a real SSE
// parser. On the embedded default (offline model, SQLite, memory cache) and,
// for failures, on a scripted model.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"
#include "chat/auth.hpp"
#include "sse_client.hpp"

namespace {

using Json = nlohmann::json;
using mx::test::httpGet;
using mx::test::httpRequest;
using mx::test::openSse;
using mx::test::ServerProcess;
using mx::test::SseResult;
using mx::test::TempDir;

std::string readSource(const std::string& relative) {
  std::ifstream in(std::string(MX_SOURCE_DIR) + "/" + relative);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) text.replace(at, from.size(), to);
}

// config/default.toml, runnable from a temporary directory, with `auth` instead of its [auth].
std::string defaultConfigWith(const TempDir& dir, const std::string& auth) {
  std::string text = readSource("config/default.toml");
  replaceAll(text, "directory = \"canon\"", "directory = \"" MX_SOURCE_DIR "/config/canon\"");
  replaceAll(text, "\"../graphs/", "\"" MX_SOURCE_DIR "/graphs/");
  auto at = text.find("[auth]");
  auto end = text.find("\n[", at + 1);
  text = text.substr(0, at) + auth + "\n" + text.substr(end);
  return dir.write("deploy.toml", text);
}

// The embedded default without auth and with one more [chat] setting.
std::string defaultConfigWithChatSetting(const TempDir& dir, const std::string& setting) {
  std::string config = defaultConfigWith(dir, "[auth]\nmode = \"none\"\n");
  std::ifstream in(config);
  std::string deploy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  replaceAll(deploy, "[chat]\n", "[chat]\n" + setting + "\n");
  return dir.write("deploy.toml", deploy);
}

std::map<std::string, std::string> env(const TempDir& dir, int paceMs = 0) {
  return {{"MX_PLUGIN_DIR", MX_PLUGIN_DIR}, {"MX_DATA_DIR", dir.path() + "/data"}, {"MX_OFFLINE_PACE_MS", std::to_string(paceMs)},
          {"MX_LOG_LEVEL", "warn"}};
}

std::unique_ptr<ServerProcess> startDefault(const TempDir& dir, int paceMs = 0) {
  auto server = std::make_unique<ServerProcess>(
      std::vector<std::string>{MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/default.toml", "--port", "0"}, env(dir, paceMs));
  EXPECT_TRUE(server->started()) << server->stderrText();
  return server;
}

SseResult chat(const ServerProcess& server, const Json& body, mx::test::SseOptions options = {}) {
  return openSse("POST", server.baseUrl() + "/api/v1/chat/stream", body.dump(), options);
}

// thinking+ ... artifact(start, delta+, end) ... message, done; ids 1..n.
void expectWellFormed(const SseResult& stream) {
  ASSERT_EQ(stream.status, 200);
  ASSERT_GE(stream.events.size(), 5u);
  for (size_t i = 0; i < stream.events.size(); ++i) {
    EXPECT_EQ(stream.events[i].id, std::to_string(i + 1)) << "ids must count 1, 2, 3 ...";
    EXPECT_NO_THROW(stream.events[i].json());
  }
  EXPECT_EQ(stream.events.front().event, "thinking");
  EXPECT_EQ(stream.events.back().event, "done");
  EXPECT_TRUE(stream.endedCleanly);
}

TEST(Chat, EveryContentTypeStreamsTheWholeFlowAndIsSaved) {
  TempDir dir;
  auto server = startDefault(dir);
  const std::vector<std::pair<std::string, std::string>> prompts = {
      {"Create an email campaign for our spring sale", "email"},
      {"Write a Facebook ad for our new running shoes", "ad"},
      {"We need a landing page for the webinar on remote work", "landing-page"},
      {"Draft a TikTok video script about our coffee subscription", "script"}};
  for (const auto& [prompt, type] : prompts) {
    auto stream = chat(*server, {{"message", prompt}});
    expectWellFormed(stream);
    std::vector<std::string> order;
    std::string artifactId;
    size_t deltas = 0;
    for (const auto& e : stream.events) {
      Json data = e.json();
      if (e.event == "thinking") {
        EXPECT_TRUE(data["type"] == "agent_reasoning" || data["type"] == "tool_status");
      }
      if (e.event == "artifact") {
        EXPECT_FALSE(data["artifactId"].get<std::string>().empty());
        if (data["type"] == "start") {
          artifactId = data["artifactId"];
          EXPECT_EQ(data["metadata"]["contentType"], type) << prompt;
        }
        if (data["type"] == "delta") ++deltas;
        if (data["type"] == "end") {
          EXPECT_GT(data["metadata"]["wordCount"].get<int>(), 10);
        }
      }
      if (order.empty() || order.back() != e.event) order.push_back(e.event);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"thinking", "analysis", "thinking", "artifact", "thinking", "message", "done"}))
        << prompt;
    EXPECT_GT(deltas, 5u);
    Json done = stream.events.back().json();
    EXPECT_EQ(done["conversationId"], stream.headers["x-conversation-id"]);
    EXPECT_EQ(done["messageCount"], 2);
    EXPECT_EQ(stream.headers["x-run-id"].rfind("run_", 0), 0u);
    auto saved = Json::parse(httpGet(server->baseUrl() + "/api/v1/conversations/" + done["conversationId"].get<std::string>()).body);
    ASSERT_EQ(saved["messages"].size(), 2u);
    EXPECT_EQ(saved["messages"][0]["content"], prompt);
    ASSERT_EQ(saved["artifacts"].size(), 1u);
    EXPECT_EQ(saved["artifacts"][0]["id"], artifactId);
    EXPECT_EQ(saved["artifacts"][0]["status"], "complete");
    auto artifact = Json::parse(httpGet(server->baseUrl() + "/api/v1/artifacts/" + artifactId).body);
    EXPECT_EQ(artifact["contentType"], type);
  }
  auto list = Json::parse(httpGet(server->baseUrl() + "/api/v1/conversations?limit=2").body);
  EXPECT_EQ(list["conversations"].size(), 2u);
}

TEST(Chat, KnowledgeSummaryAndAValidationFailureFixedByOneRevision) {
  TempDir dir;
  auto server = startDefault(dir);
  auto base = server->baseUrl();
  ASSERT_EQ(httpRequest("POST", base + "/api/v1/resources",
                        Json{{"title", "Email handbook"}, {"resourceType", "handbook"}, {"format", "markdown"},
                             {"content", "# Email\n\nSpring sale emails lead with the discount in the subject line."}}.dump()).status, 201);
  ASSERT_EQ(httpRequest("PUT", base + "/api/v1/canon/email/compliance/tight",
                        R"({"type":"max_words","value":45,"message":"Keep it under 45 words."})").status, 200);
  auto stream = chat(*server, {{"message", "Create an email campaign for our spring sale"}});
  expectWellFormed(stream);
  int starts = 0;
  Json summary;
  std::string answer;
  for (const auto& e : stream.events) {
    if (e.event == "artifact" && e.json()["type"] == "start") ++starts;
    if (e.event == "analysis") summary = e.json();
    if (e.event == "message") answer = e.json()["content"];
  }
  EXPECT_EQ(summary["type"], "knowledge_summary");
  EXPECT_EQ(summary["sources"][0]["title"], "Email handbook");
  EXPECT_EQ(starts, 2) << "one draft, one revision";
  EXPECT_NE(answer.find("passes every compliance rule"), std::string::npos) << answer;
  auto saved = Json::parse(httpGet(base + "/api/v1/conversations/" + stream.headers["x-conversation-id"]).body);
  EXPECT_EQ(saved["artifacts"].size(), 2u);
}

TEST(Chat, HeartbeatsKeepASilentStreamAlive) {
  TempDir dir;
  std::string config = defaultConfigWithChatSetting(dir, "heartbeat_seconds = 1");
  // 2.5 s between offline deltas: every gap spans a whole housekeeping tick
  // (1 s) after a second of silence, so each one gets a heartbeat.
  ServerProcess server({MX_BINARY, "serve", "--config", config, "--port", "0"}, env(dir, 2500));
  ASSERT_TRUE(server.started()) << server.stderrText();
  auto stream = chat(server, {{"message", "hello"}}, {{}, 3, nullptr, 20000});
  EXPECT_GE(stream.comments, 1u) << "expected a ': ping' comment while the model was silent";
}

TEST(Chat, ASecondTurnContinuesTheConversation) {
  TempDir dir;
  auto server = startDefault(dir);
  auto first = chat(*server, {{"message", "Create an email campaign for our spring sale"}});
  std::string conversation = first.headers["x-conversation-id"];
  auto second = chat(*server, {{"message", "Now a Facebook ad for the same sale"}, {"conversationId", conversation}});
  expectWellFormed(second);
  EXPECT_EQ(second.headers["x-conversation-id"], conversation);
  EXPECT_EQ(second.events.back().json()["messageCount"], 4);
  auto saved = Json::parse(httpGet(server->baseUrl() + "/api/v1/conversations/" + conversation).body);
  EXPECT_EQ(saved["messages"].size(), 4u);
  EXPECT_EQ(saved["artifacts"].size(), 2u);
  // The answer's usage counts every model call of its run, the Tier 2 writer's included.
  const Json& usage = saved["messages"][3]["metadata"]["usage"];
  EXPECT_EQ(usage["interruptedCalls"], 0) << usage.dump();
  EXPECT_GE(usage["modelCalls"].get<int>(), 4);  // the marketer graph: intent, brief, answer (Tier 1) + the writer
  EXPECT_GT(usage["outputTokens"].get<int>(), saved["artifacts"][1]["wordCount"].get<int>() / 2);
  auto chatting = chat(*server, {{"message", "Thanks, who are you?"}, {"conversationId", conversation}});
  expectWellFormed(chatting);
  for (const auto& e : chatting.events) EXPECT_NE(e.event, "artifact");  // just chatting: no tools, no artifact
}

// The checkpoints of a thread in the default config's SQLite database, oldest first: "status@step run".
std::vector<std::string> savedCheckpoints(const TempDir& dir, const std::string& thread) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2((dir.path() + "/data/marketerx.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open the database: " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db, "SELECT status, step, run_id FROM checkpoints WHERE thread_id = ?1 ORDER BY seq", -1, &statement, nullptr);
  sqlite3_bind_text(statement, 1, thread.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(statement) == SQLITE_ROW) {
    out.push_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))) + "@" +
                  std::to_string(sqlite3_column_int64(statement, 1)) + " " +
                  reinterpret_cast<const char*>(sqlite3_column_text(statement, 2)));
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return out;
}

// A run's last checkpoint is saved with its records (one transaction): after
// a restart, with the session cache gone, the next turn reads it.
TEST(Chat, AConversationContinuesAfterARestartFromTheCheckpointSavedWithItsRun) {
  TempDir dir;
  std::string conversation;
  {
    auto server = startDefault(dir);
    auto first = chat(*server, {{"message", "Create an email campaign for our spring sale"}});
    expectWellFormed(first);
    conversation = first.headers["x-conversation-id"];
    EXPECT_EQ(server->stop(SIGTERM), 0) << server->stderrText();
  }
  auto afterFirst = savedCheckpoints(dir, conversation);
  ASSERT_FALSE(afterFirst.empty());
  EXPECT_EQ(afterFirst.back().rfind("completed@", 0), 0u) << afterFirst.back();
  auto server = startDefault(dir);
  auto second = chat(*server, {{"message", "Now a Facebook ad for the same sale"}, {"conversationId", conversation}});
  expectWellFormed(second);
  EXPECT_EQ(second.events.back().json()["messageCount"], 4);
  std::string metrics = httpGet(server->baseUrl() + "/metrics").body;
  EXPECT_NE(metrics.find("mx_session_cache_misses 1\n"), std::string::npos) << metrics;  // read from the checkpoints
  auto afterSecond = savedCheckpoints(dir, conversation);
  ASSERT_GT(afterSecond.size(), afterFirst.size());
  EXPECT_EQ(afterSecond.back().rfind("completed@", 0), 0u) << afterSecond.back();
  EXPECT_NE(afterSecond.back().substr(afterSecond.back().find(' ')), afterFirst.back().substr(afterFirst.back().find(' ')));
}

TEST(Chat, AHundredMessageConversationKeepsGoingWithItsOlderTurnsSummarised) {
  TempDir dir;
  auto environment = env(dir);
  environment["MX_CONTEXT_BUDGET_TOKENS"] = "1500";  // small, so that a test conversation outgrows it
  ServerProcess server({MX_BINARY, "serve", "--config", MX_SOURCE_DIR "/config/default.toml", "--port", "0"}, environment);
  ASSERT_TRUE(server.started()) << server.stderrText();
  std::string conversation;
  int summaries = 0;
  const char* asks[] = {"Create an email campaign for our spring sale", "Now a Facebook ad for the same sale",
                        "Write a landing page for the spring sale", "A video script about the sale"};
  for (int turn = 0; turn < 10; ++turn) {
    Json body = {{"message", std::string(asks[turn % 4]) + " (take " + std::to_string(turn) + ")"}};
    if (!conversation.empty()) body["conversationId"] = conversation;
    auto stream = chat(server, body);
    expectWellFormed(stream);
    conversation = stream.headers["x-conversation-id"];
    for (const auto& e : stream.events) {
      if (e.event == "thinking" && e.json().value("content", "").rfind("Summarised ", 0) == 0) ++summaries;
    }
    EXPECT_EQ(stream.events.back().json()["messageCount"], 2 * (turn + 1));
  }
  EXPECT_GE(summaries, 1) << "a 10-turn conversation (over 100 graph messages) outgrew a 1,500-token budget";
  auto saved = Json::parse(httpGet(server.baseUrl() + "/api/v1/conversations/" + conversation).body);
  EXPECT_EQ(saved["messages"].size(), 20u);
  EXPECT_GE(saved["artifacts"].size(), 10u);  // one per turn, two where a revision was needed
}

// A Prometheus sample's value ("name{labels} value" or "name value"), or -1.
double metric(const std::string& text, const std::string& sample) {
  auto at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + sample.size() + 2));
}

TEST(Chat, MetricsSayWhatEachRunCostTheServerApartFromWaiting) {
  TempDir dir;
  auto server = startDefault(dir, 2);  // paced: the model calls take real time, the server's share is small
  for (int i = 0; i < 2; ++i) expectWellFormed(chat(*server, {{"message", "Create an email campaign for our spring sale"}}));
  auto response = httpGet(server->baseUrl() + "/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(response.headers["content-type"].find("text/plain"), std::string::npos);
  const std::string& text = response.body;
  EXPECT_EQ(metric(text, "mx_runs_total{status=\"completed\"}"), 2) << text;
  EXPECT_EQ(metric(text, "mx_run_overhead_ms_count"), 2);
  EXPECT_EQ(metric(text, "mx_run_duration_ms_count"), 2);
  double overhead = metric(text, "mx_run_overhead_ms_sum"), duration = metric(text, "mx_run_duration_ms_sum");
  EXPECT_GT(overhead, 0);
  EXPECT_LT(overhead, duration) << "the waits on the model are not the server's overhead";
  EXPECT_GT(metric(text, "mx_run_runtime_cpu_ms_sum"), 0);
  EXPECT_GE(metric(text, "mx_model_calls_total"), 8);
  EXPECT_GT(metric(text, "mx_run_events_total"), 20);
  EXPECT_EQ(metric(text, "mx_runs_active"), 0);
  EXPECT_GT(metric(text, "process_cpu_seconds_total"), 0);
  EXPECT_GT(metric(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_NE(text.find("mx_run_overhead_ms_bucket{le=\"+Inf\"} 2"), std::string::npos);
}

// A client that asks to keep its connection (as browsers and undici do) sends
// its next turn on it once the stream has ended; the header says so once (not
// also Pistache's echo). Without the ask, the stream ends the connection.
TEST(Chat, AStreamAskedToKeepTheConnectionServesTheNextTurnOnIt) {
  TempDir dir;
  auto server = startDefault(dir);
  mx::test::SseConnections kept;
  mx::test::SseOptions keepAlive;
  keepAlive.headers["Connection"] = "keep-alive";
  keepAlive.connections = &kept;
  auto first = chat(*server, {{"message", "Create an email campaign for our summer sale"}}, keepAlive);
  expectWellFormed(first);
  EXPECT_EQ(first.headers["connection"], "keep-alive");
  EXPECT_EQ(first.newConnections, 1);
  auto second = chat(*server, {{"message", "Now a LinkedIn ad for the same sale"}, {"conversationId", first.headers["x-conversation-id"]}},
                     keepAlive);
  expectWellFormed(second);
  EXPECT_EQ(second.newConnections, 0);
  std::string runId = second.headers["x-run-id"];
  auto replay = openSse("GET", server->baseUrl() + "/api/v1/runs/" + runId + "/stream", "", keepAlive);
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.headers["connection"], "keep-alive");
  EXPECT_EQ(replay.newConnections, 0);
  ASSERT_FALSE(replay.events.empty());
  EXPECT_EQ(replay.events.back().event, second.events.back().event);
  // A refusal on a kept connection keeps it too: its body has a length.
  auto missing = openSse("GET", server->baseUrl() + "/api/v1/runs/run-that-never-was/stream", "", keepAlive);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["connection"], "keep-alive");
  auto third = chat(*server, {{"message", "A short video script for it"}}, keepAlive);
  expectWellFormed(third);
  EXPECT_EQ(third.newConnections, 0);

  mx::test::SseConnections unasked;
  mx::test::SseOptions plain;
  plain.connections = &unasked;
  auto closing = chat(*server, {{"message", "Create an email campaign for our summer sale"}}, plain);
  expectWellFormed(closing);
  EXPECT_EQ(closing.headers["connection"], "close");
  auto next = chat(*server, {{"message", "Create an email campaign for our summer sale"}}, plain);
  expectWellFormed(next);
  EXPECT_EQ(next.newConnections, 1);
}

TEST(Chat, ReconnectingWithLastEventIdReproducesTheStreamExactly) {
  TempDir dir;
  auto server = startDefault(dir, 2);
  std::mt19937 random(2026);
  for (int round = 0; round < 5; ++round) {
    size_t cut = 1 + random() % 60;
    auto first = chat(*server, {{"message", "Create an email campaign for our summer sale"}}, {{}, cut, nullptr, 30000});
    ASSERT_EQ(first.events.size(), cut);
    std::string runId = first.headers["x-run-id"];
    auto rest = openSse("GET", server->baseUrl() + "/api/v1/runs/" + runId + "/stream", "",
                        {{{"Last-Event-ID", first.events.back().id}}, 0, nullptr, 30000});
    ASSERT_EQ(rest.status, 200);
    auto whole = openSse("GET", server->baseUrl() + "/api/v1/runs/" + runId + "/stream", "", {});
    std::vector<mx::test::SseEventRecord> joined = first.events;
    joined.insert(joined.end(), rest.events.begin(), rest.events.end());
    ASSERT_EQ(joined.size(), whole.events.size()) << "cut after " << cut;
    for (size_t i = 0; i < joined.size(); ++i) {
      EXPECT_EQ(joined[i].id, whole.events[i].id);
      EXPECT_EQ(joined[i].event, whole.events[i].event);
      EXPECT_EQ(joined[i].data, whole.events[i].data);
    }
    EXPECT_EQ(whole.events.back().event, "done");
    // Finished: its events were freed from memory and come back from the store, after the given id.
    auto tail = openSse("GET", server->baseUrl() + "/api/v1/runs/" + runId + "/stream", "", {{{"Last-Event-ID", "5"}}, 0, nullptr, 30000});
    ASSERT_EQ(tail.status, 200);
    EXPECT_EQ(tail.headers["x-conversation-id"], first.headers["x-conversation-id"]);
    ASSERT_EQ(tail.events.size(), whole.events.size() - 5);
    EXPECT_EQ(tail.events.front().id, "6");
    EXPECT_EQ(tail.events.back().data, whole.events.back().data);
  }
  EXPECT_EQ(httpGet(server->baseUrl() + "/api/v1/runs/run_nope/stream").status, 404);
}

// A finished run whose events are stored leaves memory at once, and its stream
// is replayed from the store, its conversation read from its stored `done`.
TEST(Chat, AFinishedRunLeavesMemoryAndIsReplayedFromTheStore) {
  TempDir dir;
  // The replay window (here ten minutes) keeps only runs whose events the store did not take.
  ServerProcess server({MX_BINARY, "serve", "--config", defaultConfigWithChatSetting(dir, "replay_seconds = 600"), "--port", "0"}, env(dir));
  ASSERT_TRUE(server.started()) << server.stderrText();
  std::vector<SseResult> turns;
  for (int i = 0; i < 3; ++i) turns.push_back(chat(server, {{"message", "Create an email campaign for our summer sale"}}));
  // `done` is sent a moment before the run leaves the manager's map.
  std::string metrics;
  for (int i = 0; i < 250; ++i) {
    metrics = httpGet(server.baseUrl() + "/metrics").body;
    if (metrics.find("mx_runs_in_memory 0") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(metrics.find("mx_runs_active 0"), std::string::npos) << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("mx_runs_in_memory 0"), std::string::npos) << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("mx_runs_saved 3"), std::string::npos) << metrics.substr(0, 2000);  // one after the other: one call each
  EXPECT_NE(metrics.find("mx_run_save_calls 3"), std::string::npos) << metrics.substr(0, 2000);
  for (const auto& turn : turns) {
    expectWellFormed(turn);
    auto again = openSse("GET", server.baseUrl() + "/api/v1/runs/" + turn.headers.at("x-run-id") + "/stream", "", {{{"Last-Event-ID", "3"}}, 0, nullptr, 30000});
    ASSERT_EQ(again.status, 200);
    ASSERT_EQ(again.events.size(), turn.events.size() - 3);
    EXPECT_EQ(again.events.front().id, "4");
    EXPECT_EQ(again.events.back().data, turn.events.back().data);
    EXPECT_EQ(again.headers["x-conversation-id"], turn.headers.at("x-conversation-id"));
  }
}

TEST(Chat, CancelMidArtifactKeepsThePartialArtifact) {
  TempDir dir;
  auto server = startDefault(dir, 25);
  std::thread canceller;
  mx::test::SseOptions options;
  options.onEvent = [&](const mx::test::SseEventRecord& e, const std::map<std::string, std::string>& headers) {
    if (!canceller.joinable() && e.event == "artifact" && e.json()["type"] == "delta") {
      std::string url = server->baseUrl() + "/api/v1/runs/" + headers.at("x-run-id") + "/cancel";
      canceller = std::thread([url] { EXPECT_EQ(httpRequest("POST", url).status, 202); });
    }
  };
  auto started = std::chrono::steady_clock::now();
  auto stream = chat(*server, {{"message", "Create an email campaign for our winter sale"}}, options);
  if (canceller.joinable()) canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  expectWellFormed(stream);
  ASSERT_GE(stream.events.size(), 2u);
  Json error = stream.events[stream.events.size() - 2].json();
  EXPECT_EQ(stream.events[stream.events.size() - 2].event, "error");
  EXPECT_EQ(error["code"], "cancelled");
  EXPECT_EQ(error["artifactIncomplete"], true);
  // The tokens already used are recorded: the Tier 1 calls and the cancelled writer's output so far.
  EXPECT_EQ(error["usage"]["interruptedCalls"], 1) << error.dump();
  EXPECT_GE(error["usage"]["modelCalls"].get<int>(), 2);
  EXPECT_GT(error["usage"]["outputTokens"].get<int>(), 0);
  EXPECT_EQ(error["usage"]["byModel"]["offline"]["calls"], error["usage"]["modelCalls"]);
  std::string conversation = stream.headers["x-conversation-id"];
  auto saved = Json::parse(httpGet(server->baseUrl() + "/api/v1/conversations/" + conversation).body);
  ASSERT_EQ(saved["artifacts"].size(), 1u);
  EXPECT_EQ(saved["artifacts"][0]["status"], "incomplete");
  EXPECT_FALSE(saved["artifacts"][0]["content"].get<std::string>().empty());
  EXPECT_EQ(saved["messages"].size(), 1u);  // the user's; no assistant answer
  // The finished run is no longer in memory: the store tells it from an unknown one.
  auto again = httpRequest("POST", server->baseUrl() + "/api/v1/runs/" + stream.headers["x-run-id"] + "/cancel");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Json::parse(again.body, nullptr, false)["error"]["code"], "already_finished") << again.body;
  EXPECT_FALSE(again.headers["x-request-id"].empty());
}

// Cuts the stream at the first artifact delta, then waits for the saved turn.
Json leaveMidArtifactAndWaitForTheSavedTurn(const ServerProcess& server) {
  mx::test::SseOptions options;
  options.cutAfterEvents = 7;  // thinking, analysis, thinking, artifact start, three deltas
  auto stream = chat(server, {{"message", "Create an email campaign for our winter sale"}}, options);
  EXPECT_FALSE(stream.endedCleanly);
  std::string url = server.baseUrl() + "/api/v1/conversations/" + stream.headers["x-conversation-id"];
  for (int i = 0; i < 200; ++i) {
    Json saved = Json::parse(httpGet(url).body);
    if (!saved["artifacts"].empty()) return saved;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the turn was never saved";
  return Json::object();
}

TEST(Chat, ByDefaultARunOutlivesItsClient) {
  TempDir dir;
  auto server = startDefault(dir, 25);
  Json saved = leaveMidArtifactAndWaitForTheSavedTurn(*server);
  ASSERT_EQ(saved["artifacts"].size(), 1u);
  EXPECT_EQ(saved["artifacts"][0]["status"], "complete");
  EXPECT_EQ(saved["messages"].size(), 2u);
}

TEST(Chat, DisconnectCancelPolicyStopsTheRunWhenItsClientLeaves) {
  TempDir dir;
  std::string config = defaultConfigWithChatSetting(dir, "disconnect = \"cancel\"");
  ServerProcess server({MX_BINARY, "serve", "--config", config, "--port", "0"}, env(dir, 25));
  ASSERT_TRUE(server.started()) << server.stderrText();
  Json saved = leaveMidArtifactAndWaitForTheSavedTurn(server);
  ASSERT_EQ(saved["artifacts"].size(), 1u);
  EXPECT_EQ(saved["artifacts"][0]["status"], "incomplete");
  EXPECT_EQ(saved["messages"].size(), 1u) << "no assistant answer for a cancelled run";
}

// Beyond [chat] max_live_runs a turn gets 503 at once, with Retry-After and the
// error shape, while the turns in progress go on; /metrics counts the refusals.
TEST(Chat, ATurnBeyondTheLimitOfRunsInProgressGets503WithRetryAfter) {
  TempDir dir;
  std::string config = defaultConfigWithChatSetting(dir, "max_live_runs = 1");
  ServerProcess server({MX_BINARY, "serve", "--config", config, "--port", "0"}, env(dir, 10));
  ASSERT_TRUE(server.started()) << server.stderrText();
  mx::test::HttpResponse refused;
  mx::test::SseOptions options;
  options.onEvent = [&](const mx::test::SseEventRecord&, const std::map<std::string, std::string>&) {
    if (refused.status != 0) return;
    refused = httpRequest("POST", server.baseUrl() + "/api/v1/chat/stream", Json{{"message", "Write an ad"}}.dump(),
                          {{"Content-Type", "application/json"}, {"X-Request-Id", "busy-1"}});
  };
  auto first = chat(server, {{"message", "Create an email campaign for our winter sale"}}, options);
  expectWellFormed(first);  // the turn in progress was not disturbed
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.headers["retry-after"], "1");
  EXPECT_EQ(refused.headers["x-request-id"], "busy-1");
  auto error = Json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(error.is_object()) << refused.body;
  EXPECT_EQ(error["error"]["code"], "unavailable") << error.dump();
  EXPECT_NE(error["error"]["message"].get<std::string>().find("limit of 1 turns in progress"), std::string::npos) << error.dump();
  auto metrics = httpGet(server.baseUrl() + "/metrics").body;
  EXPECT_NE(metrics.find("mx_runs_limit 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("mx_runs_refused 1\n"), std::string::npos) << metrics;
  expectWellFormed(chat(server, {{"message", "Write an ad for our spring sale"}}));  // the place is free again
}

TEST(Chat, BadInputGetsA4xxWithTheErrorShape) {
  TempDir dir;
  auto server = startDefault(dir);
  auto post = [&](const std::string& body) { return httpRequest("POST", server->baseUrl() + "/api/v1/chat/stream", body,
                                                                {{"Content-Type", "application/json"}, {"X-Request-Id", "bad-1"}}); };
  const std::vector<std::tuple<std::string, long, std::string>> cases = {
      {"{not json", 400, "request body is not valid JSON: expected a string key at byte 1"},
      {"{\"message\":\"hi\",}", 400, "request body is not valid JSON: expected a string key at byte 16"},
      {"[1,2]", 400, "must be a JSON object"},
      {"{}", 400, "\"message\" is required"},
      {"{\"message\":\"   \"}", 400, "must not be empty"},
      {"{\"message\":42}", 400, "\"message\" must be a string"},
      {"{\"message\":\"hi\",\"conversationId\":7}", 400, "\"conversationId\" must be a string"},
      {"{\"message\":\"hi\",\"conversationId\":\"conv_unknown\"}", 404, "conversation conv_unknown not found"},
      {"{\"message\":\"hi\",\"modelPreference\":{\"tier1\":\"gpt-9\"}}", 400, "is not a tier-1 model"},
      {"{\"message\":\"hi\",\"modelPreference\":\"fast\"}", 400, "\"modelPreference\" must be an object"},
      {"{\"message\":\"hi\",\"context\":{\"enableWebSearch\":\"yes\"}}", 400, "must be a boolean"},
      {"{\"message\":\"hi\",\"context\":{\"includeResources\":[1]}}", 400, "array of resource ids"},
      {"{\"message\":\"hi\",\"context\":{\"enableCodeExecution\":true}}", 400, "code execution is not available"},
      {"{\"message\":\"" + std::string(40000, 'x') + "\"}", 400, "longer than 32000 characters"},
  };
  for (const auto& [body, status, message] : cases) {
    auto response = post(body);
    EXPECT_EQ(response.status, status) << body.substr(0, 80);
    auto json = Json::parse(response.body, nullptr, false);
    ASSERT_TRUE(json.is_object()) << response.body;
    EXPECT_NE(json["error"]["message"].get<std::string>().find(message), std::string::npos) << json.dump();
    EXPECT_EQ(json["error"]["requestId"], "bad-1");
    EXPECT_EQ(response.headers["x-request-id"], "bad-1") << body.substr(0, 80);  // refused on the reactor or, after the store, on a worker
    EXPECT_EQ(response.headers["content-type"].rfind("application/json", 0), 0u) << response.headers["content-type"];
  }
  auto tooBig = post(std::string(2 * 1024 * 1024, 'x'));  // over max_request_bytes (1 MiB)
  EXPECT_EQ(tooBig.status, 413);
  EXPECT_EQ(Json::parse(tooBig.body)["error"]["code"], "payload_too_large");
  auto missing = httpRequest("GET", server->baseUrl() + "/api/v1/conversations/conv_nope", "", {{"X-Request-Id", "bad-2"}});
  EXPECT_EQ(missing.status, 404);  // answered from the blocking pool: the shape and the request id still hold
  EXPECT_EQ(Json::parse(missing.body)["error"]["requestId"], "bad-2") << missing.body;
  EXPECT_EQ(missing.headers["x-request-id"], "bad-2");
  EXPECT_EQ(httpGet(server->baseUrl() + "/api/v1/artifacts/art_nope").status, 404);
  for (const char* query : {"limit=ten", "offset=-", "limit=5x", "limit="}) {
    auto page = httpGet(server->baseUrl() + "/api/v1/conversations?" + query);
    EXPECT_EQ(page.status, 400) << query;
    EXPECT_NE(page.body.find("must be an integer"), std::string::npos) << page.body;
  }
  EXPECT_EQ(Json::parse(httpGet(server->baseUrl() + "/api/v1/conversations?limit=500").body)["limit"], 100);  // clamped
  EXPECT_EQ(httpRequest("POST", server->baseUrl() + "/api/v1/runs/run_nope/cancel").status, 404);
  EXPECT_EQ(httpGet(server->baseUrl() + "/healthz").status, 200);  // still serving
}

TEST(Chat, UsersSeeOnlyTheirOwnConversationsRunsAndArtifacts) {
  TempDir dir;
  auto alice = std::string("key-alice");
  auto bob = std::string("key-bob");
  std::string auth = "[auth]\nmode = \"api_keys\"\n[auth.keys]\n\"" + mx::host::chat::sha256Hex(alice) + "\" = \"alice\"\n\"" +
         mx::host::chat::sha256Hex(bob) + "\" = \"bob\"\n";
  std::string config = defaultConfigWith(dir, auth);
  ServerProcess server({MX_BINARY, "serve", "--config", config, "--port", "0"}, env(dir));
  ASSERT_TRUE(server.started()) << server.stderrText();
  auto as = [](const std::string& key) { return std::map<std::string, std::string>{{"Authorization", "Bearer " + key}}; };
  EXPECT_EQ(httpRequest("POST", server.baseUrl() + "/api/v1/chat/stream", "{\"message\":\"hi\"}").status, 401);
  EXPECT_EQ(httpRequest("POST", server.baseUrl() + "/api/v1/chat/stream", "{\"message\":\"hi\"}", as("wrong")).status, 401);
  auto mine = openSse("POST", server.baseUrl() + "/api/v1/chat/stream", "{\"message\":\"Create an email campaign for our spring sale\"}",
                      {as(alice), 0, nullptr, 30000});
  expectWellFormed(mine);
  std::string conversation = mine.headers["x-conversation-id"];
  std::string run = mine.headers["x-run-id"];
  std::string artifact;
  for (const auto& e : mine.events) {
    if (e.event == "artifact") artifact = e.json()["artifactId"];
  }
  auto base = server.baseUrl();
  EXPECT_EQ(httpGet(base + "/api/v1/conversations/" + conversation, as(alice)).status, 200);
  EXPECT_EQ(httpGet(base + "/api/v1/conversations/" + conversation, as(bob)).status, 404);
  EXPECT_EQ(httpGet(base + "/api/v1/artifacts/" + artifact, as(bob)).status, 404);
  EXPECT_EQ(httpGet(base + "/api/v1/runs/" + run + "/stream", as(bob)).status, 404);
  EXPECT_EQ(httpRequest("POST", base + "/api/v1/runs/" + run + "/cancel", "", as(bob)).status, 404);
  EXPECT_EQ(Json::parse(httpGet(base + "/api/v1/conversations", as(bob)).body)["conversations"].size(), 0u);
  EXPECT_EQ(httpRequest("POST", base + "/api/v1/chat/stream",
                        "{\"message\":\"continue\",\"conversationId\":\"" + conversation + "\"}", as(bob)).status, 404);
  EXPECT_EQ(httpRequest("DELETE", base + "/api/v1/conversations/" + conversation, "", as(bob)).status, 404);
  EXPECT_EQ(httpRequest("DELETE", base + "/api/v1/conversations/" + conversation, "", as(alice)).status, 200);
  EXPECT_EQ(httpGet(base + "/api/v1/conversations/" + conversation, as(alice)).status, 404);
  EXPECT_EQ(httpGet(base + "/api/v1/artifacts/" + artifact, as(alice)).status, 404);
}

// A deployment whose one model follows a script, for provider failures.
std::string scriptedConfig(const TempDir& dir, const std::string& script) {
  std::string graph = readSource("graphs/agent.toml");
  replaceAll(graph, "system_prompt_file = \"prompts/agent.md\"", "system_prompt = \"test\"");
  replaceAll(graph, "tools = [\"fetch-canon\", \"knowledge-search\", \"knowledge-fetch\", \"web-search\", \"content-execution\", \"validate-content\"]",
             "tools = [\"content-execution\"]");
  dir.write("graph.toml", graph);
  return dir.write("deploy.toml", R"(
[server]
port = 0
data_dir = ")" + dir.path() + R"(/data"
log_level = "warn"
[[plugins]]
path = ")" MX_TEST_PLUGIN_DIR R"(/scripted_model_plugin.so"
[[plugins]]
name = "graph_agent"
[[plugins]]
name = "tool_writer"
[[plugins]]
name = "store_sqlite"
[stores.main]
factory = "sqlite"
[providers.scripted]
factory = "scripted"
script = )" + script + R"(
[models.scripted-1]
provider = "scripted"
tiers = [1, 2]
default_for = [1, 2]
[tools.content-execution]
factory = "content-execution"
[graphs.agent]
file = "graph.toml"
[chat]
[checkpoints]
backend = "store"
)");
}

TEST(Chat, AWriterFailureMidArtifactEndsWithAnErrorNotACleanEnd) {
  TempDir dir;
  std::string config = scriptedConfig(dir, R"([
  { text = ["Writing."], tool_calls = [ { id = "c1", name = "content-execution", input = { contentType = "email", objective = "Spring sale", targetAudience = "parents" } } ] },
  { text = ["Subject: Spr", "ing sale"], fail = "connection reset by peer" },
  { text = ["The writer failed; here is what I have."] },
])");
  ServerProcess server({MX_BINARY, "serve", "--config", config}, {{"MX_PLUGIN_DIR", MX_PLUGIN_DIR}});
  ASSERT_TRUE(server.started()) << server.stderrText();
  auto stream = chat(server, {{"message", "Create an email"}});
  expectWellFormed(stream);
  auto error = stream.events[stream.events.size() - 2];
  ASSERT_EQ(error.event, "error");
  EXPECT_EQ(error.json()["code"], "artifact_incomplete");
  EXPECT_EQ(error.json()["artifactIncomplete"], true);
  bool sawIncompleteEnd = false;
  for (const auto& e : stream.events) {
    if (e.event == "artifact" && e.json()["type"] == "end") sawIncompleteEnd = e.json()["metadata"]["incomplete"] == true;
  }
  EXPECT_TRUE(sawIncompleteEnd);
  auto saved = Json::parse(httpGet(server.baseUrl() + "/api/v1/conversations/" + stream.headers["x-conversation-id"]).body);
  ASSERT_EQ(saved["artifacts"].size(), 1u);
  EXPECT_EQ(saved["artifacts"][0]["status"], "incomplete");
  EXPECT_EQ(saved["artifacts"][0]["content"], "Subject: Spring sale");
}

TEST(Chat, AnOrchestratorFailureEndsWithAnErrorThatSaysWhatFailed) {
  TempDir dir;
  std::string config = scriptedConfig(dir, R"([ { fail = "anthropic 529 overloaded_error: Overloaded" } ])");
  ServerProcess server({MX_BINARY, "serve", "--config", config}, {{"MX_PLUGIN_DIR", MX_PLUGIN_DIR}});
  ASSERT_TRUE(server.started()) << server.stderrText();
  auto stream = chat(server, {{"message", "Create an email"}});
  ASSERT_EQ(stream.status, 200);
  ASSERT_EQ(stream.events.size(), 2u);
  EXPECT_EQ(stream.events[0].event, "error");
  EXPECT_EQ(stream.events[0].json()["code"], "unavailable");
  EXPECT_NE(stream.events[0].json()["message"].get<std::string>().find("529 overloaded_error"), std::string::npos);
  EXPECT_EQ(stream.events[0].json()["artifactIncomplete"], false);
  EXPECT_EQ(stream.events[1].event, "done");
}

TEST(KnowledgeApi, IngestSearchAndDeleteWithTenantIsolation) {
  TempDir dir;
  std::string auth = "[auth]\nmode = \"api_keys\"\n[auth.keys]\n\"" + mx::host::chat::sha256Hex("key-a") + "\" = \"a\"\n\"" +
                     mx::host::chat::sha256Hex("key-b") + "\" = \"b\"\n";
  ServerProcess server({MX_BINARY, "serve", "--config", defaultConfigWith(dir, auth), "--port", "0"}, env(dir));
  ASSERT_TRUE(server.started()) << server.stderrText();
  auto as = [](const std::string& key) { return std::map<std::string, std::string>{{"Authorization", "Bearer " + key}}; };
  auto base = server.baseUrl();
  Json doc = {{"title", "Acme handbook"}, {"resourceType", "handbook"}, {"format", "markdown"},
              {"content", "# Email\n\nSubject lines under fifty characters.\n\n# Voice\n\nPlain and warm."}};
  auto broken = httpRequest("POST", base + "/api/v1/resources", "{\"title\":", as("key-a"));
  EXPECT_EQ(broken.status, 400);
  EXPECT_NE(broken.body.find("request body is not valid JSON: unexpected end of the text at byte 9"), std::string::npos)
      << broken.body;
  auto created = httpRequest("POST", base + "/api/v1/resources", doc.dump(), as("key-a"));
  ASSERT_EQ(created.status, 201) << created.body;
  auto resource = Json::parse(created.body);
  EXPECT_EQ(resource["chunkCount"], 2);
  EXPECT_EQ(resource["embeddingModel"], "local-hashing-v1");
  std::string id = resource["id"];
  EXPECT_EQ(Json::parse(httpGet(base + "/api/v1/resources/" + id, as("key-a")).body)["content"], doc["content"]);
  EXPECT_EQ(httpGet(base + "/api/v1/resources/" + id, as("key-b")).status, 404);
  EXPECT_EQ(Json::parse(httpGet(base + "/api/v1/resources", as("key-b")).body)["resources"].size(), 0u);
  auto badPage = httpGet(base + "/api/v1/resources?offset=abc", as("key-a"));  // was a 500 (an exception), now a 400
  EXPECT_EQ(badPage.status, 400);
  EXPECT_NE(badPage.body.find("query parameter offset must be an integer, not \\\"abc\\\""), std::string::npos) << badPage.body;
  EXPECT_EQ(httpRequest("DELETE", base + "/api/v1/resources/" + id, "", as("key-b")).status, 404);
  auto progress = openSse("POST", base + "/api/v1/resources", doc.dump(), {[&] {
                            auto h = as("key-a");
                            h["Accept"] = "text/event-stream";
                            return h;
                          }(), 0, nullptr, 30000});
  ASSERT_GE(progress.events.size(), 3u);
  EXPECT_EQ(progress.events.front().event, "progress");
  EXPECT_EQ(progress.events.back().event, "resource");
  auto pdf = httpRequest("POST", base + "/api/v1/resources",
                         Json{{"title", "x"}, {"resourceType", "handbook"}, {"format", "pdf"}, {"content", "%PDF-1.7"}}.dump(), as("key-a"));
  EXPECT_EQ(pdf.status, 400);
  EXPECT_NE(pdf.body.find("pdftotext"), std::string::npos) << pdf.body;
  auto bad = httpRequest("POST", base + "/api/v1/resources", "{\"title\":\"x\"}", as("key-a"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(Json::parse(bad.body)["error"]["message"].get<std::string>().find("\"resourceType\" is required"), std::string::npos)
      << bad.body;
  EXPECT_EQ(httpRequest("POST", base + "/api/v1/resources", doc.dump()).status, 401);

  // Canon: A's override is A's alone.
  auto put = httpRequest("PUT", base + "/api/v1/canon/email/compliance/house-rule",
                         "{\"type\":\"banned_phrase\",\"phrase\":\"cheap\"}", as("key-a"));
  ASSERT_EQ(put.status, 200) << put.body;
  auto rules = [&](const std::string& key) {
    std::vector<std::string> ids;
    auto response = httpGet(base + "/api/v1/canon/email", as(key));
    EXPECT_EQ(response.status, 200) << response.body << response.error;
    Json canon = Json::parse(response.body);  // named: a range-for over a temporary's member would dangle
    for (const auto& r : canon["compliance"]) ids.push_back(r["id"].get<std::string>());
    return ids;
  };
  // The HTTP cache layer: an ETag and 5 minutes of private caching; 304 for a client that has it.
  auto canon = httpGet(base + "/api/v1/canon/email", as("key-a"));
  ASSERT_EQ(canon.status, 200);
  std::string etag = canon.headers["etag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(canon.headers["cache-control"], "private, max-age=300");
  auto withTag = as("key-a");
  withTag["If-None-Match"] = etag;
  auto notModified = httpGet(base + "/api/v1/canon/email", withTag);
  EXPECT_EQ(notModified.status, 304);
  EXPECT_TRUE(notModified.body.empty());
  auto otherUser = as("key-b");
  otherUser["If-None-Match"] = etag;
  EXPECT_EQ(httpGet(base + "/api/v1/canon/email", otherUser).status, 200);  // key-b has no house rule: another body
  auto aRules = rules("key-a");
  EXPECT_NE(std::find(aRules.begin(), aRules.end(), "house-rule"), aRules.end());
  auto bRules = rules("key-b");
  EXPECT_EQ(std::find(bRules.begin(), bRules.end(), "house-rule"), bRules.end());
  EXPECT_EQ(httpRequest("DELETE", base + "/api/v1/canon/email/compliance/house-rule", "", as("key-b")).status, 404);
  EXPECT_EQ(httpRequest("PUT", base + "/api/v1/canon/tweet/compliance/x", "{}", as("key-a")).status, 400);
  EXPECT_EQ(httpRequest("PUT", base + "/api/v1/canon/email/template/x", "{\"name\":\"no body\"}", as("key-a")).status, 400);
  auto notJson = httpRequest("PUT", base + "/api/v1/canon/email/compliance/x", "{\"type\":\"banned\" \"words\":[]}", as("key-a"));
  EXPECT_EQ(notJson.status, 400);
  EXPECT_NE(notJson.body.find("request body is not valid JSON: expected ',' or '}' in an object at byte 17"), std::string::npos) << notJson.body;
  auto notObject = httpRequest("PUT", base + "/api/v1/canon/email/compliance/x", "[1]", as("key-a"));
  EXPECT_EQ(notObject.status, 400);
  EXPECT_NE(notObject.body.find("the entry must be a JSON object"), std::string::npos) << notObject.body;
  ASSERT_EQ(httpRequest("DELETE", base + "/api/v1/canon/email/compliance/house-rule", "", as("key-a")).status, 200);
  aRules = rules("key-a");  // the canon cache layer was cleared
  EXPECT_EQ(std::find(aRules.begin(), aRules.end(), "house-rule"), aRules.end());

  ASSERT_EQ(httpRequest("DELETE", base + "/api/v1/resources/" + id, "", as("key-a")).status, 200);
  EXPECT_EQ(httpGet(base + "/api/v1/resources/" + id, as("key-a")).status, 404);
}

}  // namespace
