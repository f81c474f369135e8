// Test and benchmark support: a stand-in for the Anthropic Messages API that
// behaves like the architecture's agent. Offered tools (Tier 1), it calls
// fetch-canon, knowledge-search and web-search in parallel, then
// content-execution, then validate-content, then answers; offered
// plan_content (the marketer graph's intent step), it plans an email; offered
// none, it streams the draft (Tier 2, the writer), or the answer after a
// conversation whose tools were run for it (the marketer graph's last step). Every answer is a real
// Messages stream (mock_anthropic_stream.hpp), optionally paced like a model:
// a delay before the first event and between events.
// Thread-safety: handle() may run on many connection threads at once.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "mock_anthropic_stream.hpp"
#include "mock_http_server.hpp"

namespace mx::test {

struct AgentScript {
  std::string draft = "Subject: Spring into savings\n\nOur spring sale starts today: 20% off everything. Shop now. Unsubscribe any time; see our privacy policy.";
  std::string answer = "Your spring sale email is ready and passes the checks.";
  std::chrono::milliseconds firstToken{0};
  std::chrono::milliseconds betweenEvents{0};
};

// The next message of the conversation in `request` (a Messages API body).
MockMessage scriptedAgentTurn(const AgentScript& script, const nlohmann::json& request);

// Answers POST /v1/messages with the scripted, paced stream.
void serveScriptedAgent(const AgentScript& script, const MockRequest& request, MockResponse& response);

// Answers POST /v1/chat/completions as an OpenAI Tier 2 writer: the draft as
// a chat.completion.chunk stream with the final usage chunk and [DONE].
void serveOpenAiWriter(const AgentScript& script, const MockRequest& request, MockResponse& response);

// The agent on /v1/messages, the OpenAI writer on /v1/chat/completions,
// OpenAI embeddings (base64, deterministic per text) on /v1/embeddings, the
// recorded Tavily answer on /search.
void serveMockApis(const AgentScript& script, const MockRequest& request, MockResponse& response);

// A draft of `words` words (the benchmark's writer output).
std::string draftOfWords(size_t words);

}  // namespace mx::test
