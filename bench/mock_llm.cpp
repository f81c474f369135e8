// mx_mock_llm: the paced stand-in for Anthropic (and the OpenAI embeddings
// and Tavily routes the production config calls) that the benchmark runs the
// server against. Prints "listening on PORT" and serves until stdin closes.
// Pacing: --first-token-ms before the first event of every answer,
// --between-ms between events; --words sets the length of the writer's draft.
// One epoll thread serves every connection (bench/epoll_mock_server.hpp).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "epoll_mock_server.hpp"
#include "scripted_agent.hpp"

int main(int argc, char** argv) {
  mx::test::AgentScript script;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long value = std::stol(argv[i + 1]);
    if (flag == "--first-token-ms") script.firstToken = std::chrono::milliseconds(value);
    else if (flag == "--between-ms") script.betweenEvents = std::chrono::milliseconds(value);
    else if (flag == "--words") script.draft = mx::test::draftOfWords(static_cast<size_t>(value));
    else {
      std::fprintf(stderr, "mx_mock_llm: unknown option %s\nusage: mx_mock_llm [--first-token-ms N] [--between-ms N] [--words N]\n", flag.c_str());
      return 2;
    }
  }
  mx::bench::EpollMockServer server([&script](const mx::test::MockRequest& request, mx::test::MockResponse& response) {
    mx::test::serveMockApis(script, request, response);
  });
  std::printf("listening on %d\n", server.port());
  std::fflush(stdout);
  server.run(0);  // until stdin closes
  return 0;
}
