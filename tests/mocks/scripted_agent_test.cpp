// The scripted Anthropic mock answers from composed answers it keeps: each
// answer must be what the script decides for that request, with a new
// message id every call, and the same bytes paced or not.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "mock_http_server.hpp"
#include "scripted_agent.hpp"

namespace mx::test {
namespace {

using Json = nlohmann::json;

Json userTurn(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

Json toolCall(const std::string& id, const std::string& name) {
  return {{"role", "assistant"}, {"content", Json::array({{{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", Json::object()}}})}};
}

Json toolResult(const std::string& id) {
  return {{"role", "user"}, {"content", Json::array({{{"type", "tool_result"}, {"tool_use_id", id}, {"content", "ok"}}})}};
}

Json agentRequest(Json messages, bool tools = true) {
  Json request = {{"model", "claude-sonnet-4-5-20250929"}, {"max_tokens", 1024}, {"messages", std::move(messages)}};
  if (tools) {
    request["tools"] = Json::array();
    for (const char* name : {"fetch-canon", "knowledge-search", "web-search", "content-execution", "validate-content"}) {
      request["tools"].push_back({{"name", name}, {"input_schema", {{"type", "object"}}}});
    }
  }
  return request;
}

// The bytes a request gets, and when (ms after the request) each write leaves.
struct Answer {
  std::string bytes;
  std::vector<long> offsets;
};

Answer answer(const AgentScript& script, const Json& body) {
  std::vector<ScheduledWrite> writes;
  MockResponse response(&writes);
  MockRequest request;
  request.method = "POST";
  request.path = "/v1/messages";
  request.body = body.dump();
  serveMockApis(script, request, response);
  Answer out;
  for (const auto& write : writes) {
    out.bytes += write.bytes;
    out.offsets.push_back(static_cast<long>(write.at.count()));
  }
  return out;
}

std::string withoutIds(const std::string& bytes) { return std::regex_replace(bytes, std::regex("msg_mock[0-9]+"), "msg_mockN"); }

// A chunked body's data, each chunk's on a line of its own (ids differ in length, so do chunk sizes).
std::string chunks(std::string_view body) {
  std::string out;
  while (!body.empty()) {
    size_t lineEnd = body.find("\r\n");
    size_t size = std::stoul(std::string(body.substr(0, lineEnd)), nullptr, 16);
    if (size == 0) break;
    out.append(withoutIds(std::string(body.substr(lineEnd + 2, size)))).push_back('\n');
    body.remove_prefix(lineEnd + 2 + size + 2);
  }
  return out;
}

// What the script decides, composed from scratch and framed as the mock frames it.
std::string expectedBody(const AgentScript& script, const Json& request) {
  std::string body;
  for (const auto& event : anthropicStreamEvents(scriptedAgentTurn(script, request))) body += frameChunk(event);
  return body + "0\r\n\r\n";
}

TEST(ScriptedAgentMock, EveryStepOfTheLoopGetsWhatTheScriptDecidesWithANewMessageIdEachCall) {
  AgentScript script;
  Json first = Json::array({userTurn("Write an email for our spring sale")});
  Json gathered = first;
  for (const char* tool : {"fetch-canon", "knowledge-search", "web-search"}) {
    gathered.push_back(toolCall(std::string("toolu_") + tool, tool));
    gathered.push_back(toolResult(std::string("toolu_") + tool));
  }
  Json written = gathered;
  written.push_back(toolCall("toolu_write", "content-execution"));
  written.push_back(toolResult("toolu_write"));
  Json checked = written;
  checked.push_back(toolCall("toolu_check", "validate-content"));
  checked.push_back(toolResult("toolu_check"));
  std::vector<Json> requests = {agentRequest(first), agentRequest(gathered), agentRequest(written), agentRequest(checked),
                                agentRequest(Json::array({userTurn("Brief: a spring sale email")}), false)};
  std::set<std::string> bodies;
  for (const auto& request : requests) {
    for (int call = 0; call < 2; ++call) {  // the second call comes from the kept answer
      Answer got = answer(script, request);
      size_t bodyAt = got.bytes.find("\r\n\r\n") + 4;
      ASSERT_EQ(chunks(got.bytes.substr(bodyAt)), chunks(expectedBody(script, request))) << request.dump();
      bodies.insert(chunks(got.bytes.substr(bodyAt)));
    }
  }
  EXPECT_EQ(bodies.size(), requests.size());  // five different answers, none mixed up with another

  std::smatch one, two;
  std::string a = answer(script, requests[0]).bytes, b = answer(script, requests[0]).bytes;
  ASSERT_TRUE(std::regex_search(a, one, std::regex("msg_mock[0-9]+")));
  ASSERT_TRUE(std::regex_search(b, two, std::regex("msg_mock[0-9]+")));
  EXPECT_NE(one.str(), two.str());
}

TEST(ScriptedAgentMock, AnotherScriptIsNotAnsweredFromTheFirstOnesKeptAnswer) {
  AgentScript script, other;
  other.draft = "Subject: Autumn\n\nSomething else entirely.";
  Json writer = agentRequest(Json::array({userTurn("Brief: an email")}), false);
  EXPECT_NE(answer(script, writer).bytes.find("Spring"), std::string::npos);
  Answer got = answer(other, writer);
  EXPECT_EQ(got.bytes.find("Spring"), std::string::npos);
  EXPECT_NE(got.bytes.find("Autumn"), std::string::npos);
}

TEST(ScriptedAgentMock, APacedAnswerHasTheSameBytesOneEventAtATime) {
  AgentScript fast, paced;
  paced.firstToken = std::chrono::milliseconds(300);
  paced.betweenEvents = std::chrono::milliseconds(20);
  Json request = agentRequest(Json::array({userTurn("Brief: a spring sale email")}), false);
  Answer unpaced = answer(fast, request), slow = answer(paced, request);
  size_t unpacedBody = unpaced.bytes.find("\r\n\r\n") + 4, slowBody = slow.bytes.find("\r\n\r\n") + 4;
  EXPECT_EQ(unpaced.bytes.substr(0, unpacedBody), slow.bytes.substr(0, slowBody));
  EXPECT_EQ(chunks(unpaced.bytes.substr(unpacedBody)), chunks(slow.bytes.substr(slowBody)));
  ASSERT_EQ(unpaced.offsets, (std::vector<long>{0}));  // head, every event and the end in one write
  size_t events = anthropicStreamEvents(scriptedAgentTurn(paced, request)).size();
  ASSERT_EQ(slow.offsets.size(), 1 + events);  // the head, then one write per event (the end leaves with the last)
  EXPECT_EQ(slow.offsets[0], 0);
  for (size_t i = 1; i < slow.offsets.size(); ++i) EXPECT_EQ(slow.offsets[i], 300 + 20 * static_cast<long>(i - 1)) << i;
}

TEST(ScriptedAgentMock, ARequestWithoutMessagesIsRefusedAsTheApiDoes) {
  Answer got = answer(AgentScript{}, Json{{"model", "claude-sonnet-4-5-20250929"}});
  EXPECT_EQ(got.bytes.rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_NE(got.bytes.find("messages: Field required"), std::string::npos);
}

}  // namespace
}  // namespace mx::test
