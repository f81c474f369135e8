// The plugin of docs/plugin-guide.md: one tool that greets.
#include "mx/plugin.hpp"

namespace {

class HelloTool final : public mx::Tool {
 public:
  explicit HelloTool(std::string greeting) : greeting_(std::move(greeting)) {}

  mx::ToolDefinition definition() const override {
    return {"hello", "Greets someone by name",
            {{"type", "object"},
             {"properties", {{"name", {{"type", "string"}}}}},
             {"required", {"name"}}}};
  }

  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext>, mx::ToolDone done) override {
    if (!arguments.contains("name") || !arguments["name"].is_string()) {
      done(mx::invalidArgumentError("\"name\" must be a string"));
      return;
    }
    done(mx::Json{{"text", greeting_ + ", " + arguments["name"].get<std::string>() + "!"}});
  }

 private:
  std::string greeting_;
};

}  // namespace

MX_PLUGIN("hello_plugin", "0.1.0", "Example plugin built out of tree") {
  mx::Factory<mx::Tool> factory;
  factory.name = "hello";
  factory.description = "a tool that greets";
  factory.schema = mx::ConfigSchema().optional("greeting", mx::ConfigType::String, "Hello", "what to say");
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    return std::unique_ptr<mx::Tool>(std::make_unique<HelloTool>(context.config()["greeting"]));
  };
  return registrar.addTool(std::move(factory));
}
