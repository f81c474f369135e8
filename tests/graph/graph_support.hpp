// Test support: a deployment with the test node kinds and a graph written
// inline, and a blocking way to run it.
#pragma once

#include <future>

#include "mx/testing/fakes.hpp"
#include "process.hpp"
#include "runtime/deployment.hpp"

namespace mx::test {

inline std::string deploymentWithGraph(const TempDir& dir, const std::string& graphToml,
                                       const std::string& checkpoints = "backend = \"memory\"\nretention = 50\n") {
  dir.write("graph.toml", graphToml);
  return dir.write("deploy.toml", "[server]\nport = 0\nlog_level = \"error\"\ndata_dir = \"" + dir.path() + "/data\"\n"
                                  "[[plugins]]\npath = \"" MX_TEST_PLUGIN_DIR "/graph_test_plugin.so\"\n"
                                  "[graphs.g]\nfile = \"graph.toml\"\n[checkpoints]\n" + checkpoints);
}

struct LoadedGraph {
  std::unique_ptr<host::Deployment> deployment;
  std::vector<std::string> errors;
};

inline LoadedGraph loadGraphDeployment(const TempDir& dir, const std::string& graphToml,
                                       const std::string& checkpoints = "backend = \"memory\"\nretention = 50\n") {
  LoadedGraph loaded;
  loaded.deployment =
      host::Deployment::load(deploymentWithGraph(dir, graphToml, checkpoints), host::processEnvironment(), loaded.errors);
  if (loaded.deployment) {
    Status status = loaded.deployment->instantiate();
    if (!status.isOk()) {
      loaded.errors.push_back(status.message());
      loaded.deployment.reset();
    }
  }
  return loaded;
}

inline host::RunOutcome runGraph(host::Deployment& deployment, host::RunRequest request, bool resume = false,
                                 CancellationSource* cancelAfter = nullptr, std::chrono::milliseconds delay = {}) {
  std::promise<host::RunOutcome> promise;
  auto future = promise.get_future();
  auto done = [&promise](host::RunOutcome outcome) { promise.set_value(std::move(outcome)); };
  if (resume) {
    deployment.runtime().resume(deployment.graph("g"), request, done);
  } else {
    deployment.runtime().start(deployment.graph("g"), request, done);
  }
  if (cancelAfter != nullptr) {
    std::this_thread::sleep_for(delay);
    cancelAfter->cancel("test cancel");
  }
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "run did not finish";
    return {};
  }
  return future.get();
}

inline host::RunRequest request(const std::string& thread, const std::string& run, EventSink* events,
                                Json input = Json::object()) {
  host::RunRequest r;
  r.threadId = thread;
  r.runId = run;
  r.events = events;
  r.input = std::move(input);
  return r;
}

}  // namespace mx::test
