// Front door of tool_validate: the validate-content tool.
#include "mx/plugin.hpp"
#include "rule_engine.hpp"

namespace {

class ValidateTool final : public mx::Tool {
 public:
  mx::ToolDefinition definition() const override {
    return {"validate-content", "Check content against compliance rules and brand guidelines",
            mx::Json::parse(R"({"type":"object","properties":{"content":{"type":"string","description":"the text to check; an artifact between its <artifact> markers (the writer's result) is checked without them"},"rules":{"type":"array"}},"required":["content","rules"]})")};
  }
  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext>, mx::ToolDone done) override {
    done(mx::validate::validateContent(arguments.value("content", ""), arguments.value("rules", mx::Json::array())));
  }
};

}  // namespace

MX_PLUGIN("tool_validate", "0.1.0", "validate-content: a rule engine over the canon's compliance rules") {
  mx::Factory<mx::Tool> factory;
  factory.name = "validate-content";
  factory.create = [](mx::ComponentContext&) -> mx::Result<std::unique_ptr<mx::Tool>> {
    return std::unique_ptr<mx::Tool>(std::make_unique<ValidateTool>());
  };
  return registrar.addTool(std::move(factory));
}
