// Each load-time validation error of a graph file, with its file:line.
#include <gtest/gtest.h>

#include "graph_support.hpp"

namespace mx::host {
namespace {

using mx::test::TempDir;

std::string errorsFor(const std::string& graphToml) {
  TempDir dir;
  auto loaded = mx::test::loadGraphDeployment(dir, graphToml);
  std::string all;
  for (const auto& e : loaded.errors) all += e + "\n";
  // Paths are temporary: keep "graph.toml:line:col: message".
  std::string prefix = dir.path() + "/";
  for (size_t at; (at = all.find(prefix)) != std::string::npos;) all.erase(at, prefix.size());
  return all;
}

const std::string kBase = R"(
[channels.log]
reducer = "append"
[nodes.a]
kind = "test.write"
)";

TEST(GraphValidation, UnknownNodeKindSuggestsTheClosest) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n[nodes.a]\nkind = \"test.writ\"\n[[edges]]\nfrom = \"a\"\nto = \"__end__\"\n");
  EXPECT_NE(errors.find("graph.toml:4:8: [nodes.a] unknown node kind \"test.writ\" (did you mean \"test.write\"?)"), std::string::npos) << errors;
}

TEST(GraphValidation, UnknownRouter) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n" + kBase + "[[edges]]\nfrom = \"a\"\nrouter = \"test.by_feild\"\ntargets = [\"__end__\"]\n");
  EXPECT_NE(errors.find("graph.toml:10:10: [[edges]] unknown router \"test.by_feild\" (did you mean \"test.by_field\"?)"), std::string::npos) << errors;
}

TEST(GraphValidation, ARouterConfigIsCheckedAgainstItsSchema) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n" + kBase +
                          "[[edges]]\nfrom = \"a\"\nrouter = \"test.by_field\"\ntargets = [\"__end__\"]\nconfig = { feild = \"x\", field = 3 }\n");
  EXPECT_NE(errors.find("[[edges]] config of router \"test.by_field\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("feild"), std::string::npos) << errors;
  EXPECT_NE(errors.find("graph.toml:12:"), std::string::npos) << errors;
}

TEST(GraphValidation, MissingAndUnknownEntry) {
  auto missing = errorsFor("[graph]\n" + kBase + "[[edges]]\nfrom = \"a\"\nto = \"__end__\"\n");
  EXPECT_NE(missing.find("graph.toml:1:1: [graph] missing required key \"entry\""), std::string::npos) << missing;
  auto unknown = errorsFor("[graph]\nentry = \"b\"\n" + kBase + "[[edges]]\nfrom = \"a\"\nto = \"__end__\"\n");
  EXPECT_NE(unknown.find("graph.toml:2:9: [graph] entry \"b\" is not a node"), std::string::npos) << unknown;
}

TEST(GraphValidation, UnreachableNode) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n" + kBase +
                          "[nodes.island]\nkind = \"test.write\"\n[[edges]]\nfrom = \"a\"\nto = \"__end__\"\n[[edges]]\nfrom = \"island\"\nto = \"__end__\"\n");
  EXPECT_NE(errors.find("graph.toml:8:1: [nodes.island] cannot be reached from the entry \"a\""), std::string::npos) << errors;
}

TEST(GraphValidation, EdgeToAnUnknownNode) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n" + kBase + "[[edges]]\nfrom = \"a\"\nto = \"bb\"\n[[edges]]\nfrom = \"ghost\"\nto = \"a\"\n");
  EXPECT_NE(errors.find("graph.toml:8:1: edge to unknown node \"bb\"\n"), std::string::npos) << errors;
  EXPECT_NE(errors.find("graph.toml:11:1: edge from unknown node \"ghost\""), std::string::npos) << errors;
}

TEST(GraphValidation, NodeWithNoWayToTheEnd) {
  auto loop = errorsFor("[graph]\nentry = \"a\"\n" + kBase +
                        "[nodes.b]\nkind = \"test.write\"\n[[edges]]\nfrom = \"a\"\nto = \"b\"\n[[edges]]\nfrom = \"b\"\nto = \"a\"\n");
  EXPECT_NE(loop.find("[nodes.a] has no way to \"__end__\""), std::string::npos) << loop;
  EXPECT_NE(loop.find("[nodes.b] has no way to \"__end__\""), std::string::npos) << loop;
  auto deadEnd = errorsFor("[graph]\nentry = \"a\"\n" + kBase);
  EXPECT_NE(deadEnd.find("graph.toml:6:1: [nodes.a] has no outgoing edge (add one to \"__end__\")"), std::string::npos) << deadEnd;
}

TEST(GraphValidation, UnknownReducer) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n[channels.log]\nreducer = \"apend\"\n[nodes.a]\nkind = \"test.write\"\n[[edges]]\nfrom = \"a\"\nto = \"__end__\"\n");
  EXPECT_NE(errors.find("graph.toml:4:11: [channels.log] unknown reducer \"apend\" (did you mean \"append\"?)"), std::string::npos) << errors;
}

TEST(GraphValidation, BadConditionsAndNodeConfig) {
  auto errors = errorsFor("[graph]\nentry = \"a\"\n" + kBase + "delay_ms = \"soon\"\n" +
                          "[[edges]]\nfrom = \"a\"\nto = \"__end__\"\nwhen = \"log ==\"\n[[edges]]\nfrom = \"a\"\nto = \"__end__\"\nwhen = \"ghost.x\"\n");
  EXPECT_NE(errors.find("[nodes.a] key \"delay_ms\" must be an integer, got \"soon\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("[[edges]] condition \"log ==\": the right side of == must be a JSON literal"), std::string::npos) << errors;
  EXPECT_NE(errors.find("[[edges]] condition \"ghost.x\" reads undeclared channel \"ghost\""), std::string::npos) << errors;
}

TEST(GraphValidation, CheckConfigReportsGraphErrorsAndExitsTwo) {
  TempDir dir;
  std::string config = mx::test::deploymentWithGraph(dir, "[graph]\nentry = \"a\"\n[nodes.a]\nkind = \"nope\"\n");
  auto result = mx::test::runProcess({MX_BINARY, "check-config", "--config", config});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_NE(result.err.find("graph.toml:4:8: [nodes.a] unknown node kind \"nope\""), std::string::npos) << result.err;
}

}  // namespace
}  // namespace mx::host
