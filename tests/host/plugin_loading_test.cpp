// In-process: plugins loaded from TOML, components created through factories,
// the lifetime rule (the library outlives every object it created), the
// boundary guards, references between components.
#include <gtest/gtest.h>

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <thread>

#include "process.hpp"
#include "net/curl_http_client.hpp"
#include "runtime/deployment.hpp"

namespace mx::host {
namespace {

std::string deploymentToml(const std::string& components) {
  return std::string("[server]\nport = 0\nlog_level = \"error\"\n") +
         "[[plugins]]\npath = \"" MX_TEST_PLUGIN_DIR "/good_plugin.so\"\n" +
         "[[plugins]]\npath = \"" MX_PLUGIN_DIR "/cache_memory.so\"\n" + components;
}

std::unique_ptr<Deployment> load(const mx::test::TempDir& dir, const std::string& components,
                                 std::vector<std::string>& errors) {
  std::string file = dir.write("deploy.toml", deploymentToml(components));
  return Deployment::load(file, processEnvironment(), errors);
}

bool libraryMapped(const std::string& fileName) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(fileName) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(PluginLoading, CreatesComponentsFromTheirFactories) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[tools.hello]\nfactory = 'echo'\ngreeting = 'hi'\n[caches.main]\nfactory = 'memory'\n", errors);
  ASSERT_TRUE(deployment) << errors[0];
  ASSERT_TRUE(deployment->instantiate().isOk());
  auto tool = deployment->components().get<Tool>("hello");
  ASSERT_TRUE(tool.isOk());
  Json answer;
  (*tool)->invoke({{"q", 1}}, std::make_shared<ToolContext>(), [&](Result<Json> r) { answer = *r; });
  EXPECT_EQ(answer["greeting"], "hi");
  auto cache = deployment->components().get<CacheBackend>("main");
  ASSERT_TRUE(cache.isOk());
  ASSERT_TRUE((*cache)->set("k", "v", std::chrono::seconds(1)).isOk());
  EXPECT_EQ(*(*cache)->get("k").value(), "v");
}

TEST(PluginLoading, ObjectsKeepTheirLibraryLoadedAfterTheHostLetsGo) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[tools.hello]\nfactory = 'echo'\ngreeting = 'still here'\n", errors);
  ASSERT_TRUE(deployment) << errors[0];
  ASSERT_TRUE(deployment->instantiate().isOk());
  std::shared_ptr<Tool> tool = *deployment->components().get<Tool>("hello");
  deployment.reset();  // registry, plugin records and component set are gone
  EXPECT_TRUE(libraryMapped("good_plugin.so"));
  EXPECT_EQ(tool->definition().name, "echo");  // code in the plugin still runs
  Json answer;
  tool->invoke({}, std::make_shared<ToolContext>(), [&](Result<Json> r) { answer = *r; });
  EXPECT_EQ(answer["greeting"], "still here");
}

TEST(PluginLoading, ExceptionsFromComponentsBecomeStatusesNamingTheComponent) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[caches.flaky]\nfactory = 'switch'\n", errors);
  ASSERT_TRUE(deployment) << errors[0];
  ASSERT_TRUE(deployment->instantiate().isOk());
  auto cache = *deployment->components().get<CacheBackend>("flaky");
  auto result = cache->get("x");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::Internal);
  EXPECT_EQ(result.status().message(), "[caches.flaky] threw: get exploded");
}

TEST(PluginLoading, FactoryExceptionsAreReportedWithLocationAndPlugin) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[stores.db]\nfactory = 'exploding'\n", errors);
  ASSERT_TRUE(deployment) << errors[0];
  Status status = deployment->instantiate();
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("deploy.toml:"), std::string::npos);
  EXPECT_NE(status.message().find("[stores.db] (factory \"exploding\" of plugin \"test_good\") failed"),
            std::string::npos);
  EXPECT_NE(status.message().find("database on fire"), std::string::npos);
}

TEST(PluginLoading, ComponentsCanReferToEachOtherInAnyOrder) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[caches.front]\nfactory = 'switch'\nuses = 'back'\n[caches.back]\nfactory = 'memory'\n", errors);
  ASSERT_TRUE(deployment) << errors[0];
  EXPECT_TRUE(deployment->instantiate().isOk());
}

TEST(PluginLoading, ReferenceCyclesAndUnknownReferencesAreErrors) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto cyclic = load(dir, "[caches.a]\nfactory = 'switch'\nuses = 'b'\n[caches.b]\nfactory = 'switch'\nuses = 'a'\n", errors);
  ASSERT_TRUE(cyclic);
  Status status = cyclic->instantiate();
  EXPECT_NE(status.message().find("depends on itself"), std::string::npos) << status.message();

  auto dangling = load(dir, "[caches.a]\nfactory = 'switch'\nuses = 'nobody'\n", errors);
  ASSERT_TRUE(dangling);
  status = dangling->instantiate();
  EXPECT_NE(status.message().find("no cache backend named \"nobody\" is configured"), std::string::npos)
      << status.message();
}

TEST(PluginLoading, DisabledComponentsAreNotCreated) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[stores.db]\nfactory = 'exploding'\nenabled = false\n", errors);
  ASSERT_TRUE(deployment);
  EXPECT_TRUE(deployment->instantiate().isOk());
  EXPECT_EQ(deployment->components().get<Store>("db").status().code(), Code::FailedPrecondition);
}

TEST(PluginLoading, DescribeMasksSecrets) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  auto deployment = load(dir, "[tools.t]\nfactory = 'echo'\ngreeting = 'x'\napi_key = 'sk-live-123'\n", errors);
  ASSERT_TRUE(deployment);
  std::string described = deployment->describeComponents().dump();
  EXPECT_EQ(described.find("sk-live-123"), std::string::npos);
  EXPECT_NE(described.find("\"api_key\":\"***\""), std::string::npos);
}

// The HTTP client's thread runs graph steps while the workers sleep only when
// no step can wait on a round trip there (WorkerPool::HelpWhenIdle).
TEST(DeploymentThreads, GraphStepsAreHelpedOnlyWhenNoStepWaitsOnARoundTrip) {
  struct Case {
    std::string settings;
    bool helped;
  };
  for (const auto& [settings, helped] : std::vector<Case>{
           {"", true},  // blocking pool of 16, checkpoints in memory
           {"[server]\nblocking_threads = 0\n", false},  // blocking tools on the workers
           {"[checkpoints]\nbackend = \"file\"\n", false},  // durability "sync": each step's file written on the worker
           {"[checkpoints]\nbackend = \"file\"\ndurability = \"exit\"\n", true},
           {"[checkpoints]\nbackend = \"file\"\ndurability = \"async\"\n", true}}) {
    mx::test::TempDir dir;
    std::string toml = "[server]\nport = 0\nlog_level = \"error\"\ndata_dir = \"" + dir.path() + "\"\n";
    if (settings.rfind("[server]\n", 0) == 0) toml += settings.substr(9);
    else toml += settings;
    std::vector<std::string> errors;
    auto deployment = Deployment::load(dir.write("deploy.toml", toml), processEnvironment(), errors);
    ASSERT_TRUE(deployment) << settings << ": " << (errors.empty() ? "" : errors[0]);
    ASSERT_TRUE(deployment->instantiate().isOk()) << settings;
    EXPECT_EQ(deployment->workers().acceptsHelp(), helped) << settings;
  }
}

// cpu_scheduling = "batch": the threads the deployment starts run under
// SCHED_BATCH; "normal" leaves them as started; anything else is refused.
TEST(DeploymentThreads, BatchSchedulingReachesEveryThreadStartedAfterward) {
  auto policyOfAWorker = [](WorkerPool& pool) {
    std::promise<int> policy;
    pool.post([&] { policy.set_value(sched_getscheduler(0)); });
    return policy.get_future().get();
  };
  for (const auto& [setting, expected] : std::vector<std::pair<std::string, int>>{{"batch", SCHED_BATCH}, {"normal", SCHED_OTHER}}) {
    mx::test::TempDir dir;
    std::vector<std::string> errors;
    auto deployment = Deployment::load(
        dir.write("deploy.toml", "[server]\nport = 0\nlog_level = \"error\"\ncpu_scheduling = \"" + setting + "\"\n"),
        processEnvironment(), errors);
    ASSERT_TRUE(deployment) << (errors.empty() ? "" : errors[0]);
    // On a thread of its own, so that this test's thread keeps its policy.
    std::thread starter([&] { ASSERT_TRUE(deployment->instantiate().isOk()); });
    starter.join();
    EXPECT_EQ(policyOfAWorker(deployment->workers()), expected) << setting;
    EXPECT_EQ(policyOfAWorker(deployment->blockingWork()), expected) << setting;
  }
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

// Loads a [server] section with `setting = value`; expects it refused with `message` first, named by its file.
void expectServerSettingRefused(const std::string& setting, const std::string& value, const std::string& message) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  std::string file = dir.write("deploy.toml", "[server]\nport = 0\n" + setting + " = " + value + "\n");
  EXPECT_FALSE(Deployment::load(file, processEnvironment(), errors)) << setting << " = " << value;
  ASSERT_FALSE(errors.empty()) << setting << " = " << value;
  EXPECT_EQ(errors[0], file + ": [server] " + message + value);
}

TEST(DeploymentThreads, AnHttpRealtimePriorityOutOfRangeIsRefusedSayingWhere) {
  for (std::string value : {"-1", "100"}) {
    expectServerSettingRefused("http_realtime_priority", value,
                               "http_realtime_priority must be 0 (none) or between 1 and 99, got ");
  }
}

TEST(DeploymentThreads, HttpClientThreadsOutOfRangeAreRefusedSayingWhere) {
  for (std::string value : {"0", "-1", "65"}) {
    expectServerSettingRefused("http_client_threads", value, "http_client_threads must be between 1 and 64, got ");
  }
}

TEST(DeploymentThreads, TheHttpClientHasTheConfiguredIoThreads) {
  for (int threads : {1, 3}) {
    mx::test::TempDir dir;
    std::vector<std::string> errors;
    std::string toml = "[server]\nport = 0\nlog_level = \"error\"\nhttp_client_threads = " + std::to_string(threads) + "\n";
    auto deployment = Deployment::load(dir.write("deploy.toml", toml), processEnvironment(), errors);
    ASSERT_TRUE(deployment) << (errors.empty() ? "" : errors[0]);
    EXPECT_EQ(deployment->components().httpClient()->ioThreads(), static_cast<size_t>(threads));
  }
}

TEST(DeploymentThreads, AnHttpClientBufferOutOfLibcurlsRangeIsRefusedSayingWhere) {
  for (std::string value : {"0", "1023", "524289"}) {
    expectServerSettingRefused("http_client_buffer_bytes", value,
                               "http_client_buffer_bytes must be between 1024 and 524288, got ");
  }
}

TEST(DeploymentThreads, TheHttpClientHasTheConfiguredReceiveBuffer) {
  for (std::string setting : {"", "http_client_buffer_bytes = 1024\n", "http_client_buffer_bytes = 524288\n"}) {
    mx::test::TempDir dir;
    std::vector<std::string> errors;
    std::string toml = "[server]\nport = 0\nlog_level = \"error\"\n" + setting;
    auto deployment = Deployment::load(dir.write("deploy.toml", toml), processEnvironment(), errors);
    ASSERT_TRUE(deployment) << (errors.empty() ? "" : errors[0]);
    long expected = setting.empty() ? CurlHttpClient::Options{}.receiveBufferBytes : std::stol(setting.substr(setting.find('=') + 1));
    EXPECT_EQ(deployment->components().httpClient()->receiveBufferBytes(), expected) << setting;
  }
}

TEST(DeploymentThreads, AnHttpNiceOrSliceOutOfRangeIsRefusedSayingWhere) {
  for (std::string value : {"-21", "20"}) {
    expectServerSettingRefused("http_nice", value, "http_nice must be between -20 and 19, got ");
  }
  for (std::string value : {"-1", "99", "100001"}) {
    expectServerSettingRefused("http_slice_us", value,
                               "http_slice_us must be 0 (the kernel's slice) or between 100 and 100000, got ");
  }
}

TEST(DeploymentThreads, AnUnknownSchedulingIsRefusedSayingWhere) {
  mx::test::TempDir dir;
  std::vector<std::string> errors;
  std::string file = dir.write("deploy.toml", "[server]\nport = 0\ncpu_scheduling = \"fifo\"\n");
  EXPECT_FALSE(Deployment::load(file, processEnvironment(), errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], file + ": [server] cpu_scheduling must be \"normal\" or \"batch\", got \"fifo\"");
}

// Group commit's batch bound: 1 (each run alone) to 256, refused otherwise with where it is.
TEST(DeploymentChat, RunsPerSaveOutOfRangeIsRefusedSayingWhere) {
  for (std::string value : {"0", "257", "-3"}) {
    mx::test::TempDir dir;
    std::vector<std::string> errors;
    std::string file = dir.write("deploy.toml", "[server]\nport = 0\n\n[chat]\nruns_per_save = " + value + "\n");
    EXPECT_FALSE(Deployment::load(file, processEnvironment(), errors)) << value;
    std::string expected = "[chat] runs_per_save must be between 1 (each run saved alone) and 256, got " + value;
    bool found = std::any_of(errors.begin(), errors.end(), [&](const std::string& e) {
      return e.rfind(file + ":", 0) == 0 && e.find(expected) != std::string::npos;
    });
    EXPECT_TRUE(found) << value << ": " << (errors.empty() ? "no error" : errors[0]);
  }
}

}  // namespace
}  // namespace mx::host

