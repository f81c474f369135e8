#include "scripted_agent.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "api_mock.hpp"
#include "mx/json_parse.hpp"

namespace mx::test {

namespace {

using Json = nlohmann::json;

bool isHumanText(const Json& message) {
  if (message["role"] != "user") return false;
  if (message["content"].is_string()) return true;
  for (const auto& block : message["content"]) {
    if (block.value("type", "") == "tool_result") return false;
  }
  return true;
}

// The tools called since the user's newest words (this turn).
std::vector<std::string> toolsCalled(const Json& request) {
  std::vector<std::string> names;
  for (const auto& message : request["messages"]) {
    if (isHumanText(message)) names.clear();
    if (message["role"] != "assistant" || !message["content"].is_array()) continue;
    for (const auto& block : message["content"]) {
      if (block["type"] == "tool_use") names.push_back(block["name"]);
    }
  }
  return names;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

// A deterministic unit-ish vector per text, as OpenAI's base64 float32 encoding.
std::string embeddingFor(const std::string& text, int dimensions) {
  float values[7];  // the vector repeats with period 7
  for (int d = 0; d < 7; ++d) values[d] = static_cast<float>((std::hash<std::string>{}(text + std::to_string(d)) % 1000) / 1000.0);
  std::string bytes(static_cast<size_t>(dimensions) * 4, '\0');
  for (int d = 0; d < dimensions; ++d) std::memcpy(&bytes[static_cast<size_t>(d) * 4], &values[d % 7], 4);
  return base64(bytes);
}

}  // namespace

// The content type the newest user text asks for (email unless it names another).
std::string contentTypeAskedFor(const Json& request) {
  std::string text;
  for (const auto& message : request["messages"]) {
    if (message["role"] != "user") continue;
    if (message["content"].is_string()) text = message["content"];
    if (!message["content"].is_array()) continue;
    for (const auto& block : message["content"]) {
      if (block.value("type", "") == "text") text = block.value("text", "");
    }
  }
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text.find("landing page") != std::string::npos) return "landing-page";
  if (text.find("script") != std::string::npos) return "script";
  if (text.find(" ad ") != std::string::npos || text.find(" ad") == text.size() - 3) return "ad";
  return "email";
}

bool offers(const Json& request, const std::string& tool) {
  if (!request.contains("tools")) return false;
  for (const auto& t : request["tools"]) {
    if (t.value("name", "") == tool) return true;
  }
  return false;
}

MockMessage scriptedAgentTurn(const AgentScript& script, const Json& request) {
  MockMessage message;
  message.model = request.value("model", "claude-sonnet-4-5-20250929");
  auto called = toolsCalled(request);
  if (!request.contains("tools") || request["tools"].empty()) {
    // The writer gets one self-contained brief; a conversation whose tools
    // were run for the model (the marketer graph's last step) gets the answer.
    message.textDeltas = wordDeltas(called.empty() ? script.draft : script.answer);
    message.outputTokens = static_cast<int>(message.textDeltas.size());
    return message;
  }
  if (offers(request, "plan_content")) {  // the marketer graph's intent analysis
    message.toolUses = {{"toolu_plan", "plan_content",
                         {{"intent", "create"}, {"contentType", contentTypeAskedFor(request)}, {"objective", "Announce the spring sale"},
                          {"topic", "spring sale"}, {"targetAudience", "existing customers"}, {"knowledgeQuery", "spring sale"},
                          {"webResearch", true}, {"webQuery", "spring sale email trends"},
                          {"reasoning", "An email campaign for the spring sale: canon first, then your documents and the web."}}}};
    return message;
  }
  auto has = [&](const char* name) { return std::find(called.begin(), called.end(), name) != called.end(); };
  if (called.empty()) {
    message.textDeltas = {"Loading the canon, ", "your documents and the web."};
    message.toolUses = {{"toolu_canon", "fetch-canon", {{"category", "all"}, {"contentType", "email"}}},
                        {"toolu_search", "knowledge-search", {{"query", "spring sale"}}},
                        {"toolu_web", "web-search", {{"query", "spring sale email trends"}}}};
  } else if (!has("content-execution")) {
    message.textDeltas = {"Briefing the writer."};
    message.toolUses = {{"toolu_write", "content-execution",
                         {{"contentType", contentTypeAskedFor(request)}, {"objective", "Spring sale content"}, {"targetAudience", "existing customers"}}}};
  } else if (!has("validate-content")) {
    message.toolUses = {{"toolu_check", "validate-content", {{"content", script.draft}, {"rules", Json::array()}}}};
  } else {
    message.textDeltas = wordDeltas(script.answer);
  }
  return message;
}

namespace {

// A scripted answer composed once: message_start around its id (new each
// call), the events after it, and the same events framed as HTTP chunks for
// an unpaced answer written at once.
struct ComposedAnswer {
  MessageStartParts start;
  std::vector<std::string> rest;
  std::string framedRest;
};

// What scriptedAgentTurn's answer depends on, as a key (the script's texts by their hash).
std::string answerKey(const AgentScript& script, const Json& request) {
  std::string key = request.value("model", "");
  bool tools = request.contains("tools") && !request["tools"].empty();
  key += !tools ? "|writer|" : offers(request, "plan_content") ? "|plan|" : "|agent|";
  for (const auto& name : toolsCalled(request)) key.append(name).push_back(',');
  key.append("|").append(contentTypeAskedFor(request));
  key.append("|").append(std::to_string(std::hash<std::string>{}(script.draft)));
  key.append("|").append(std::to_string(std::hash<std::string>{}(script.answer)));
  return key;
}

// The benchmark's mock answers thousands of identical calls: composing the
// message and its events' JSON each time made the mock cost more CPU per turn
// than the server. The key costs a walk of the parsed request, not a composition.
std::shared_ptr<const ComposedAnswer> composedAnswer(const AgentScript& script, const Json& request) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ComposedAnswer>> composed;
  std::string key = answerKey(script, request);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = composed.find(key);
    if (found != composed.end()) return found->second;
  }
  MockMessage message = scriptedAgentTurn(script, request);
  auto answer = std::make_shared<ComposedAnswer>();
  answer->start = anthropicMessageStartParts(message);
  auto events = anthropicStreamEvents(message);
  answer->rest.assign(std::make_move_iterator(events.begin() + 1), std::make_move_iterator(events.end()));
  for (const auto& event : answer->rest) answer->framedRest += frameChunk(event);
  std::lock_guard<std::mutex> lock(mutex);
  if (composed.size() >= 64) composed.clear();  // scripts have a handful of distinct answers
  composed.emplace(std::move(key), answer);
  return answer;
}

void serveScriptedAgentBody(const AgentScript& script, const Json& body, MockResponse& response) {
  if (body.is_discarded() || !body.is_object() || !body.contains("messages")) {
    response.send(400, {{"Content-Type", "application/json"}},
                  R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: Field required"}})");
    return;
  }
  auto answer = composedAnswer(script, body);
  response.begin(200, {{"Content-Type", "text/event-stream; charset=utf-8"}, {"Cache-Control", "no-cache"}, {"request-id", "req_mock"}});
  if (script.firstToken.count() > 0) response.sleep(script.firstToken);
  response.chunk(answer->start.beforeId + nextMockMessageId() + answer->start.afterId);
  if (script.betweenEvents.count() == 0) {
    response.framed(answer->framedRest);
  } else {
    for (const auto& event : answer->rest) {
      response.sleep(script.betweenEvents);
      response.chunk(event);
      if (response.failed()) return;
    }
  }
  response.end();
}

}  // namespace

void serveScriptedAgent(const AgentScript& script, const MockRequest& request, MockResponse& response) {
  serveScriptedAgentBody(script, mx::parseJson(request.body), response);
}

namespace {

void serveOpenAiWriterBody(const AgentScript& script, const Json& body, MockResponse& response) {
  if (body.is_discarded() || !body.contains("messages")) {
    response.send(400, {{"Content-Type", "application/json"}},
                  R"({"error":{"message":"'messages' is a required property","type":"invalid_request_error","param":null,"code":null}})");
    return;
  }
  // The chunk shapes of tests/fixtures/openai-chat-text-after-tool-gpt-4o-mini.sse.
  std::string model = body.value("model", "gpt-4o-mini") + "-2024-07-18";
  auto chunk = [&](const Json& choices, const Json& usage) {
    return "data: " + Json{{"id", "chatcmpl-mock"}, {"object", "chat.completion.chunk"}, {"created", 1782955818}, {"model", model},
                           {"service_tier", "default"}, {"system_fingerprint", "fp_mock"}, {"choices", choices}, {"usage", usage}}
                          .dump() +
           "\n\n";
  };
  auto delta = [&](const Json& d, const Json& finish) {
    return chunk(Json::array({{{"index", 0}, {"delta", d}, {"logprobs", nullptr}, {"finish_reason", finish}}}), nullptr);
  };
  response.begin(200, {{"Content-Type", "text/event-stream; charset=utf-8"}, {"x-request-id", "req_mock_openai"}});
  if (script.firstToken.count() > 0) response.sleep(script.firstToken);
  response.chunk(delta({{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, nullptr));
  auto words = wordDeltas(script.draft);
  for (const auto& word : words) {
    if (script.betweenEvents.count() > 0) response.sleep(script.betweenEvents);
    response.chunk(delta({{"content", word}}, nullptr));
    if (response.failed()) return;
  }
  response.chunk(delta(Json::object(), "stop"));
  response.chunk(chunk(Json::array(), {{"prompt_tokens", 120}, {"completion_tokens", words.size()},
                                       {"total_tokens", 120 + words.size()}, {"prompt_tokens_details", {{"cached_tokens", 0}}}}));
  response.chunk("data: [DONE]\n\n");
  response.end();
}

}  // namespace

void serveOpenAiWriter(const AgentScript& script, const MockRequest& request, MockResponse& response) {
  serveOpenAiWriterBody(script, mx::parseJson(request.body), response);
}

void serveMockApis(const AgentScript& script, const MockRequest& request, MockResponse& response) {
  Json body = mx::parseJson(request.body.empty() ? "{}" : request.body);  // once: a Tier 1 body is the whole conversation
  if (request.path == "/v1/messages") {
    serveScriptedAgentBody(script, body, response);
  } else if (request.path == "/v1/chat/completions") {
    serveOpenAiWriterBody(script, body, response);
  } else if (request.path == "/v1/embeddings") {
    Json data = Json::array();
    Json inputs = body["input"].is_array() ? body["input"] : Json::array({body["input"]});
    for (size_t i = 0; i < inputs.size(); ++i) {
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embeddingFor(inputs[i], body.value("dimensions", 1536))}});
    }
    response.send(200, {{"Content-Type", "application/json"}},
                  Json{{"object", "list"}, {"data", data}, {"model", body["model"]}, {"usage", {{"prompt_tokens", 8}, {"total_tokens", 8}}}}.dump());
  } else if (request.path == "/search") {
    static const std::string answer = readText(fixturePath("tavily-search-sdk-test.json"));  // read once: the benchmark asks every turn
    response.send(200, {{"Content-Type", "application/json"}}, answer);
  } else {
    response.send(404, {{"Content-Type", "application/json"}}, R"({"error":"no such mock route"})");
  }
}

std::string draftOfWords(size_t words) {
  static const char* vocabulary[] = {"spring", "savings", "start", "today", "with", "twenty", "percent", "off", "everything", "shop"};
  std::string out = "Subject: Spring into savings\n\n";
  for (size_t i = 0; i < words; ++i) out += std::string(i ? " " : "") + vocabulary[i % 10];
  return out + ".";
}

}  // namespace mx::test
