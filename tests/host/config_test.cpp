// Config parsing and validation: ${VAR} expansion, "did you mean", schema
// checks with file:line:col, the deployment file's own structure.
#include <gtest/gtest.h>

#include "config/deployment_config.hpp"
#include "config/env_expansion.hpp"
#include "config/schema_validation.hpp"
#include "config/suggest.hpp"
#include "process.hpp"

namespace mx::host {
namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(EnvExpansion, ExpandsSetVariablesAndDefaults) {
  auto env = fakeEnv({{"HOST", "db.local"}, {"EMPTY", ""}});
  EXPECT_EQ(*expandEnvironment("postgres://${HOST}:5432", env), "postgres://db.local:5432");
  EXPECT_EQ(*expandEnvironment("${PORT:-8080}", env), "8080");
  EXPECT_EQ(*expandEnvironment("${HOST:-other}", env), "db.local");
  EXPECT_EQ(*expandEnvironment("${EMPTY:-fallback}", env), "fallback");
  EXPECT_EQ(*expandEnvironment("[${EMPTY}]", env), "[]");
  EXPECT_EQ(*expandEnvironment("${UNSET:-}", env), "");
  EXPECT_EQ(*expandEnvironment("cost $$5 and $x", env), "cost $5 and $x");
}

TEST(EnvExpansion, UnsetVariableWithoutDefaultIsAnError) {
  auto result = expandEnvironment("key=${ANTHROPIC_API_KEY}", fakeEnv({}));
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("ANTHROPIC_API_KEY is not set and has no default"),
            std::string::npos);
}

TEST(EnvExpansion, MalformedReferencesAreErrors) {
  EXPECT_FALSE(expandEnvironment("${UNTERMINATED", fakeEnv({})).isOk());
  EXPECT_FALSE(expandEnvironment("${1BAD}", fakeEnv({})).isOk());
  EXPECT_FALSE(expandEnvironment("${}", fakeEnv({})).isOk());
}

TEST(Suggest, FindsCloseNamesOnly) {
  std::vector<std::string> keys = {"api_key", "base_url", "timeout_ms", "max_bytes"};
  EXPECT_EQ(closestMatch("api_kye", keys), "api_key");
  EXPECT_EQ(closestMatch("max_byte", keys), "max_bytes");
  EXPECT_EQ(closestMatch("completely_different", keys), std::nullopt);
  EXPECT_EQ(didYouMean("base_ur", keys), " (did you mean \"base_url\"?)");
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
}

ConfigSchema sampleSchema() {
  return ConfigSchema()
      .required("url", ConfigType::String, "where")
      .optional("port", ConfigType::Integer, 80, "port")
      .optional("ratio", ConfigType::Float, 0.5, "ratio")
      .optional("enabled_flag", ConfigType::Boolean, false, "flag")
      .optional("names", ConfigType::StringArray, Json::array(), "names")
      .optional("extra", ConfigType::Table, nullptr, "a table")
      .optional("token", ConfigType::String, "", "secret")
      .secret();
}

Json validate(const std::string& toml, std::vector<ConfigError>& errors,
              std::map<std::string, std::string> env = {}) {
  static toml::table table;
  table = toml::parse(std::string_view(toml), std::string_view("test.toml"));
  return validateTable(table, sampleSchema(), {"test.toml", "[tools.x]", {"factory"}}, fakeEnv(env), errors);
}

TEST(SchemaValidation, AppliesDefaultsAndExpandsStrings) {
  std::vector<ConfigError> errors;
  Json config = validate("factory = 'f'\nurl = 'http://${H}'\nnames = ['a', '${H}']\n", errors, {{"H", "h"}});
  ASSERT_TRUE(errors.empty()) << errors[0].str();
  EXPECT_EQ(config["url"], "http://h");
  EXPECT_EQ(config["port"], 80);
  EXPECT_EQ(config["names"], Json::array({"a", "h"}));
  EXPECT_FALSE(config.contains("extra"));
  EXPECT_FALSE(config.contains("factory"));
}

TEST(SchemaValidation, NumbersAndBooleansMayComeFromTheEnvironment) {
  std::vector<ConfigError> errors;
  Json config = validate("url='u'\nport='${P:-9000}'\nratio='${R}'\nenabled_flag='${B}'\n", errors,
                         {{"R", "0.25"}, {"B", "true"}});
  ASSERT_TRUE(errors.empty()) << errors[0].str();
  EXPECT_EQ(config["port"], 9000);
  EXPECT_DOUBLE_EQ(config["ratio"].get<double>(), 0.25);
  EXPECT_EQ(config["enabled_flag"], true);
  EXPECT_DOUBLE_EQ(validate("url='u'\nratio=2\n", errors)["ratio"].get<double>(), 2.0);
}

TEST(SchemaValidation, UnknownKeyIsReportedWithLocationAndSuggestion) {
  std::vector<ConfigError> errors;
  validate("url = 'u'\n\nprot = 81\n", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].str(), "test.toml:3:8: [tools.x] unknown key \"prot\" (did you mean \"port\"?)");
}

TEST(SchemaValidation, WrongTypesAreReportedWithLocation) {
  std::vector<ConfigError> errors;
  validate("url = 5\nport = 'eighty'\nnames = ['a', 3]\nextra = 1\n", errors);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].str(), "test.toml:1:7: [tools.x] key \"url\" must be a string, got integer");
  EXPECT_EQ(errors[1].str(), "test.toml:2:8: [tools.x] key \"port\" must be an integer, got \"eighty\"");
  EXPECT_NE(errors[2].str().find("test.toml:3:15: [tools.x] key \"names\" must be an array of strings"),
            std::string::npos);
  EXPECT_EQ(errors[3].str(), "test.toml:4:9: [tools.x] key \"extra\" must be a table, got integer");
}

TEST(SchemaValidation, SecretValuesAreNotEchoedInErrors) {
  ConfigSchema schema = ConfigSchema().optional("pin", ConfigType::Integer, 0, "").secret();
  toml::table table = toml::parse(std::string_view("pin = 'hunter2'"), std::string_view("s.toml"));
  std::vector<ConfigError> errors;
  validateTable(table, schema, {"s.toml", "[x]", {}}, fakeEnv({}), errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message.find("hunter2"), std::string::npos);
}

TEST(SchemaValidation, MissingRequiredKeyNamesTheTable) {
  std::vector<ConfigError> errors;
  validate("port = 1\n", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].str().find("[tools.x] missing required key \"url\""), std::string::npos);
}

TEST(SchemaValidation, UnsetVariableIsReportedAtItsLocation) {
  std::vector<ConfigError> errors;
  validate("\nurl = '${NOPE}'\n", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where.line, 2u);
  EXPECT_NE(errors[0].message.find("NOPE is not set"), std::string::npos);
}

DeploymentConfig loadText(const std::string& text, std::vector<ConfigError>& errors) {
  static mx::test::TempDir dir;
  std::string file = dir.write("deploy.toml", text);
  return loadDeploymentConfig(file, fakeEnv({}), errors);
}

TEST(DeploymentConfig, ReadsServerPluginsAndComponents) {
  std::vector<ConfigError> errors;
  auto config = loadText(R"(
[server]
port = 0
[[plugins]]
name = "cache_memory"
[[plugins]]
path = "../x.so"
[[plugins]]
name = "skipped"
enabled = false
[caches.main]
factory = "memory"
[tools.web-search]
factory = "tavily"
enabled = false
)", errors);
  ASSERT_TRUE(errors.empty()) << errors[0].str();
  EXPECT_EQ(config.server["port"], 0);
  EXPECT_EQ(config.server["threads"], 2);
  ASSERT_EQ(config.plugins.size(), 2u);
  EXPECT_EQ(config.plugins[0].name, "cache_memory");
  EXPECT_EQ(config.plugins[1].path, "../x.so");
  ASSERT_EQ(config.components.size(), 2u);
  EXPECT_EQ(config.components[1].label(), "[tools.web-search]");
  EXPECT_FALSE(config.components[1].enabled);
}

TEST(DeploymentConfig, StructuralErrorsAreAllReported) {
  std::vector<ConfigError> errors;
  loadText(R"(
[sever]
port = 1
[[plugins]]
name = "a"
path = "b"
[caches.main]
max_bytes = 1
[tools]
search = 3
)", errors);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_NE(errors[0].str().find(":2:1: unknown section \"sever\" (did you mean \"server\"?)"), std::string::npos);
  EXPECT_NE(errors[1].str().find("needs exactly one of \"name\" or \"path\""), std::string::npos);
  EXPECT_NE(errors[2].str().find("[caches.main] missing required key \"factory\""), std::string::npos);
  EXPECT_NE(errors[3].str().find("[tools.search] must be a table"), std::string::npos);
}

TEST(DeploymentConfig, SyntaxErrorsCarryLineAndColumn) {
  std::vector<ConfigError> errors;
  loadText("[server]\nport = = 3\n", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where.line, 2u);
  EXPECT_NE(errors[0].message.find("TOML syntax error"), std::string::npos);
}

TEST(DeploymentConfig, MissingFileIsAnError) {
  std::vector<ConfigError> errors;
  loadDeploymentConfig("/nonexistent/deploy.toml", fakeEnv({}), errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].str(), "/nonexistent/deploy.toml: config file not found");
}

}  // namespace
}  // namespace mx::host
