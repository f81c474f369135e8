// The marketerx binary refuses every bad deployment with a one-line message
// that names the file and line (or the plugin file), exits non-zero and starts
// nothing. Each case loads a deliberately broken plugin built by the suite.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mx/plugin.hpp"
#include "process.hpp"

namespace {

const std::string kHostAbi = std::to_string(MX_ABI_MAJOR) + "." + std::to_string(MX_ABI_MINOR);

using mx::test::ProcessResult;
using mx::test::runProcess;
using mx::test::TempDir;

const std::string kTestPlugins = MX_TEST_PLUGIN_DIR;
const std::string kPlugins = MX_PLUGIN_DIR;

std::string pluginLine(const std::string& path) { return "[[plugins]]\npath = \"" + path + "\"\n"; }

struct Run {
  ProcessResult result;
  std::string file;
  std::vector<std::string> errorLines() const {
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(result.err);
    while (std::getline(in, line)) {
      if (line.rfind("marketerx: ", 0) != 0) {
        lines.push_back(line);
      }
    }
    return lines;
  }
};

Run checkConfig(const TempDir& dir, const std::string& toml, const std::map<std::string, std::string>& env = {},
                const std::string& command = "check-config") {
  std::string file = dir.write("deploy.toml", "[server]\nport = 0\n" + toml);
  return {runProcess({MX_BINARY, command, "--config", file}, env), file};
}

// The one error line, asserted to be exactly one line that begins with `prefix`.
std::string singleError(const Run& run) {
  EXPECT_EQ(run.result.exitCode, 2) << run.result.err;
  auto lines = run.errorLines();
  EXPECT_EQ(lines.size(), 1u) << run.result.err;
  EXPECT_NE(run.result.err.find("nothing started"), std::string::npos) << run.result.err;
  return lines.empty() ? "" : lines[0];
}

TEST(CliErrors, MissingPluginFileByName) {
  TempDir dir;
  auto run = checkConfig(dir, "[[plugins]]\nname = \"no_such_plugin\"\n", {{"MX_PLUGIN_DIR", kPlugins}});
  EXPECT_EQ(singleError(run), run.file + ":3:1: plugin \"no_such_plugin\" not found (looked for " +
                                  kPlugins + "/no_such_plugin.so, " + kPlugins + "/libno_such_plugin.so)");
}

TEST(CliErrors, MissingPluginFileByPath) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine("plugins/missing.so"));
  EXPECT_EQ(singleError(run),
            run.file + ":3:1: plugin file not found: " + dir.path() + "/plugins/missing.so");
}

TEST(CliErrors, FileThatIsNotASharedLibrary) {
  TempDir dir;
  std::string fake = dir.write("fake.so", std::string(4096, '#') + "\nthis is text, not ELF\n");
  auto line = singleError(checkConfig(dir, pluginLine(fake)));
  EXPECT_NE(line.find(":3:1: " + fake + ": not a loadable shared library: "), std::string::npos) << line;
  EXPECT_NE(line.find("invalid ELF header"), std::string::npos) << line;
}

TEST(CliErrors, SharedLibraryWithoutFrontDoor) {
  TempDir dir;
  std::string file = kTestPlugins + "/no_front_door_plugin.so";
  auto line = singleError(checkConfig(dir, pluginLine(file)));
  EXPECT_NE(line.find(file + ": not a MarketerX plugin: it does not export mx_plugin_abi"), std::string::npos)
      << line;
}

TEST(CliErrors, BadMagic) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, pluginLine(kTestPlugins + "/bad_magic_plugin.so")));
  EXPECT_NE(line.find("bad_magic_plugin.so: not a MarketerX plugin (bad magic in its ABI block)"),
            std::string::npos) << line;
}

TEST(CliErrors, AbiMajorMismatchNamesBothVersions) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, pluginLine(kTestPlugins + "/abi_major_plugin.so")));
  EXPECT_NE(line.find("abi_major_plugin.so: ABI major version mismatch: host sdk-abi " + kHostAbi + " ("), std::string::npos)
      << line;
  EXPECT_NE(line.find("plugin sdk-abi " + std::to_string(MX_ABI_MAJOR + 1) + ".0 ("), std::string::npos) << line;
}

TEST(CliErrors, PluginNeedingANewerMinorIsRefused) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, pluginLine(kTestPlugins + "/abi_minor_newer_plugin.so")));
  EXPECT_NE(line.find("plugin needs a newer host: host sdk-abi " + kHostAbi), std::string::npos) << line;
  EXPECT_NE(line.find("plugin sdk-abi " + std::to_string(MX_ABI_MAJOR) + "." + std::to_string(MX_ABI_MINOR + 1)), std::string::npos) << line;
}

TEST(CliErrors, ToolchainMismatchNamesBothToolchains) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, pluginLine(kTestPlugins + "/toolchain_plugin.so")));
  EXPECT_NE(line.find("toolchain_plugin.so: toolchain mismatch: host sdk-abi " + kHostAbi + " (gcc-"), std::string::npos) << line;
  EXPECT_NE(line.find("plugin sdk-abi " + kHostAbi + " (clang-17/libc++/c++202002L/json-3.11)"), std::string::npos) << line;
}

TEST(CliErrors, DuplicateComponentNameNamesBothPlugins) {
  TempDir dir;
  auto line = singleError(checkConfig(
      dir, pluginLine(kTestPlugins + "/good_plugin.so") + pluginLine(kTestPlugins + "/duplicate_plugin.so")));
  EXPECT_NE(line.find(":5:1: " + kTestPlugins + "/duplicate_plugin.so: plugin \"test_duplicate\" failed to register: "
                      "already_exists: tool factory \"echo\" is registered by plugin \"test_good\" (" +
                      kTestPlugins + "/good_plugin.so) and by plugin \"test_duplicate\" (" + kTestPlugins +
                      "/duplicate_plugin.so)"),
            std::string::npos)
      << line;
}

TEST(CliErrors, RegisterFunctionThatThrows) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, pluginLine(kTestPlugins + "/throwing_plugin.so")));
  EXPECT_NE(line.find("throwing_plugin.so: plugin \"test_throwing\" failed to register: internal: plugin "
                      "'test_throwing' threw: boom while registering"),
            std::string::npos) << line;
}

TEST(CliErrors, RegisterFunctionThatReturnsAnError) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, pluginLine(kTestPlugins + "/failing_plugin.so")));
  EXPECT_NE(line.find("failing_plugin.so: plugin \"test_failing\" failed to register: failed_precondition: "
                      "licence file missing"),
            std::string::npos) << line;
}

TEST(CliErrors, UnknownFactorySuggestsTheClosest) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kPlugins + "/cache_memory.so") + "[caches.main]\nfactory = \"memroy\"\n");
  EXPECT_EQ(singleError(run), run.file + ":6:11: [caches.main] unknown cache backend factory \"memroy\" (did you "
                                         "mean \"memory\"?); loaded plugins provide: memory");
}

TEST(CliErrors, UnknownConfigKeySuggestsTheClosest) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kPlugins + "/cache_memory.so") +
                                  "[caches.main]\nfactory = \"memory\"\nmax_byte = 100000\n");
  EXPECT_EQ(singleError(run),
            run.file + ":7:12: [caches.main] unknown key \"max_byte\" (did you mean \"max_bytes\"?)");
}

TEST(CliErrors, WrongType) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kPlugins + "/cache_memory.so") +
                                  "[caches.main]\nfactory = \"memory\"\nmax_bytes = \"lots\"\n");
  EXPECT_EQ(singleError(run),
            run.file + ":7:13: [caches.main] key \"max_bytes\" must be an integer, got \"lots\"");
}

TEST(CliErrors, MissingRequiredKey) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kTestPlugins + "/good_plugin.so") + "[tools.hello]\nfactory = \"echo\"\n");
  EXPECT_EQ(singleError(run), run.file + ":5:1: [tools.hello] missing required key \"greeting\" (string: what to say)");
}

TEST(CliErrors, UnsetEnvironmentVariableWithoutDefault) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kTestPlugins + "/good_plugin.so") +
                                  "[tools.hello]\nfactory = \"echo\"\ngreeting = \"${MX_TEST_SURELY_UNSET}\"\n");
  EXPECT_EQ(singleError(run), run.file + ":7:12: environment variable MX_TEST_SURELY_UNSET is not set and has no "
                                         "default (write ${MX_TEST_SURELY_UNSET:-default} to give one)");
}

TEST(CliErrors, FactoryValidationFailure) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kPlugins + "/cache_memory.so") +
                                  "[caches.main]\nfactory = \"memory\"\nmax_bytes = 10\n");
  EXPECT_EQ(singleError(run), run.file + ":5:1: [caches.main] max_bytes must be at least 4096");
}

TEST(CliErrors, SqliteWalThresholdBelowOnePage) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kPlugins + "/store_sqlite.so") +
                                  "[stores.main]\nfactory = \"sqlite\"\nwal_checkpoint_pages = 0\n");
  EXPECT_EQ(singleError(run), run.file + ":5:1: [stores.main] wal_checkpoint_pages must be at least 1");
}

TEST(CliErrors, SqliteWalQuietSpellBelowZero) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kPlugins + "/store_sqlite.so") +
                                  "[stores.main]\nfactory = \"sqlite\"\nwal_idle_checkpoint_ms = -1\n");
  EXPECT_EQ(singleError(run), run.file + ":5:1: [stores.main] wal_idle_checkpoint_ms must be 0 (never) or more");
}

TEST(CliErrors, TomlSyntaxError) {
  TempDir dir;
  auto line = singleError(checkConfig(dir, "[caches.main\n"));
  EXPECT_NE(line.find("deploy.toml:3:"), std::string::npos) << line;
  EXPECT_NE(line.find("TOML syntax error"), std::string::npos) << line;
}

TEST(CliErrors, NegativeBlockingThreads) {
  TempDir dir;
  std::string file = dir.write("deploy.toml", "[server]\nport = 0\nblocking_threads = -2\n");
  auto result = runProcess({MX_BINARY, "check-config", "--config", file});
  EXPECT_EQ(result.exitCode, 2);  // a configuration error
  EXPECT_NE(result.err.find(file + ": [server] blocking_threads must be 0 (blocking work on the graph workers) or more"),
            std::string::npos) << result.err;
}

TEST(CliErrors, ServeRefusesABadConfigWithoutListening) {
  TempDir dir;
  auto run = checkConfig(dir, pluginLine(kTestPlugins + "/throwing_plugin.so"), {}, "serve");
  singleError(run);
  EXPECT_EQ(run.result.out.find("listening"), std::string::npos);
}

TEST(CliErrors, ServeReportsAFactoryFailureAndExitsOne) {
  TempDir dir;
  std::string file = dir.write("deploy.toml", "[server]\nport = 0\n" + pluginLine(kTestPlugins + "/good_plugin.so") +
                                                  "[stores.db]\nfactory = \"exploding\"\n");
  auto result = runProcess({MX_BINARY, "serve", "--config", file});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.err.find("[stores.db] (factory \"exploding\" of plugin \"test_good\") failed: internal: factory threw: database on fire"),
            std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("listening"), std::string::npos);
}

TEST(Cli, CheckConfigPrintsThePlanWithSecretsMasked) {
  TempDir dir;
  std::string file = dir.write(
      "deploy.toml", "[server]\nport = 0\n" + pluginLine(kTestPlugins + "/good_plugin.so") +
                         "[tools.hello]\nfactory = \"echo\"\ngreeting = \"${GREETING:-hi}\"\napi_key = \"${KEY}\"\n");
  auto result = runProcess({MX_BINARY, "check-config", "--config", file}, {{"KEY", "sk-secret-value"}});
  EXPECT_EQ(result.exitCode, 0) << result.err;
  EXPECT_NE(result.out.find("test_good 1.2.3"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("[tools.hello] tool \"echo\" from test_good"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"greeting\":\"hi\""), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"api_key\":\"***\""), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("sk-secret-value"), std::string::npos);
  EXPECT_NE(result.out.find("OK: would start 1 component(s)"), std::string::npos);
}

TEST(Cli, PluginsListsEachPluginsComponents) {
  TempDir dir;
  std::string file = dir.write("deploy.toml", pluginLine(kTestPlugins + "/good_plugin.so") +
                                                   pluginLine(kPlugins + "/cache_memory.so"));
  auto text = runProcess({MX_BINARY, "plugins", "--config", file});
  EXPECT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find("tool \"echo\""), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("cache backend \"memory\""), std::string::npos) << text.out;
  auto json = runProcess({MX_BINARY, "plugins", "--config", file, "--json"});
  auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed["plugins"].size(), 2u);
  EXPECT_EQ(parsed["plugins"][0]["name"], "test_good");
  EXPECT_EQ(parsed["plugins"][0]["components"].size(), 3u);
}

TEST(Cli, ProductionConfigNeedsItsApiKeys) {
  auto result = runProcess({MX_BINARY, "check-config", "--config", std::string(MX_SOURCE_DIR) + "/config/production.toml"},
                           {{"MX_PLUGIN_DIR", kPlugins}, {"OPENAI_API_KEY", "sk-x"}});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_NE(result.err.find("environment variable ANTHROPIC_API_KEY is not set and has no default"), std::string::npos)
      << result.err;
}

TEST(Cli, UsageErrors) {
  EXPECT_EQ(runProcess({MX_BINARY, "--help"}).exitCode, 0);
  EXPECT_NE(runProcess({MX_BINARY, "--help"}).out.find("marketerx serve --config FILE"), std::string::npos);
  auto unknown = runProcess({MX_BINARY, "launch"});
  EXPECT_EQ(unknown.exitCode, 2);
  EXPECT_NE(unknown.err.find("unknown command \"launch\""), std::string::npos);
  auto noConfig = runProcess({MX_BINARY, "serve"});
  EXPECT_EQ(noConfig.exitCode, 2);
  EXPECT_NE(noConfig.err.find("serve needs --config FILE"), std::string::npos);
  auto dangling = runProcess({MX_BINARY, "serve", "--config"});
  EXPECT_EQ(dangling.exitCode, 2);
  EXPECT_EQ(runProcess({MX_BINARY, "check-config", "--config", "/nonexistent.toml"}).exitCode, 2);
}

TEST(Cli, ShippedConfigsPassCheckConfig) {
  for (const char* config : {"/config/default.toml", "/config/production.toml"}) {
    auto result = runProcess({MX_BINARY, "check-config", "--config", std::string(MX_SOURCE_DIR) + config},
                             {{"MX_PLUGIN_DIR", kPlugins}, {"ANTHROPIC_API_KEY", "sk-ant-x"}, {"OPENAI_API_KEY", "sk-x"},
                              {"DATABASE_URL", "postgresql://mx@127.0.0.1:5432/mx"}});
    EXPECT_EQ(result.exitCode, 0) << config << "\n" << result.err;
  }
}

TEST(Cli, AnUnreachableDatabaseStopsTheStartWithoutShowingItsPassword) {
  auto result = runProcess({MX_BINARY, "serve", "--config", std::string(MX_SOURCE_DIR) + "/config/production.toml", "--port", "0"},
                           {{"MX_PLUGIN_DIR", kPlugins}, {"ANTHROPIC_API_KEY", "sk-ant-x"}, {"OPENAI_API_KEY", "sk-x"},
                            {"MX_DATA_DIR", "/tmp"}, {"DATABASE_URL", "postgresql://mx:hunter2@127.0.0.1:1/mx?connect_timeout=2"}});
  EXPECT_NE(result.exitCode, 0);
  EXPECT_NE(result.err.find("stores.main"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("postgres: connect to postgresql://mx:***@127.0.0.1:1/mx"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("hunter2"), std::string::npos) << result.err;
}

}  // namespace
