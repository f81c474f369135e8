// Crash and resume: a run is killed (SIGKILL) in the middle; a new process
// resumes it from its checkpoint and finishes it; no completed node runs twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "graph_support.hpp"

namespace mx::host {
namespace {

std::vector<std::string> lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(GraphCrash, KilledRunResumesWithoutRepeatingCompletedNodes) {
  mx::test::TempDir dir;
  std::string record = dir.path() + "/completed.txt";
  auto node = [&](const std::string& name, int delay) {
    return "[nodes." + name + "]\nkind = \"test.write\"\ndelay_ms = " + std::to_string(delay) + "\nrecord_to = \"" + record +
           "\"\nupdate = { log = [\"" + name + "\"] }\n";
  };
  std::string graph = "[graph]\nentry = \"a\"\n[channels.log]\nreducer = \"append\"\ndefault = []\n" + node("a", 100) +
                      node("fast", 100) + node("slow", 1500) + node("c", 100) + node("d", 100) +
                      "[[edges]]\nfrom = \"a\"\nto = \"fast\"\n[[edges]]\nfrom = \"a\"\nto = \"slow\"\n"
                      "[[edges]]\nfrom = [\"fast\", \"slow\"]\nto = \"c\"\n[[edges]]\nfrom = \"c\"\nto = \"d\"\n"
                      "[[edges]]\nfrom = \"d\"\nto = \"__end__\"\n";
  std::string config = mx::test::deploymentWithGraph(dir, graph, "backend = \"file\"\n");
  std::vector<std::string> run = {MX_BINARY, "run-graph", "--config", config, "--graph", "g", "--thread", "conv-1", "--run", "run-1"};
  {
    mx::test::BackgroundProcess process(run);
    // a finishes at ~100 ms; fast at ~200 ms (its pending write saved); slow at ~1600 ms.
    for (int i = 0; i < 100 && lines(record).size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(process.stop(SIGKILL), -SIGKILL);
  }
  ASSERT_EQ(lines(record), (std::vector<std::string>{"a", "fast"}));
  std::vector<std::string> resume = run;
  resume.push_back("--resume");
  auto result = mx::test::runProcess(resume);
  ASSERT_EQ(result.exitCode, 0) << result.err << result.out;
  EXPECT_EQ(lines(record), (std::vector<std::string>{"a", "fast", "slow", "c", "d"}));
  auto outcome = Json::parse(result.out.substr(result.out.rfind("{\"error\"")));
  EXPECT_EQ(outcome["status"], "completed");
  Json log = outcome["state"]["log"];
  EXPECT_EQ(log.size(), 5u);
  EXPECT_EQ(std::count(log.begin(), log.end(), Json("fast")), 1);
}

}  // namespace
}  // namespace mx::host
