// Front door of tool_writer: the content-execution tool (Tier 2).
#include <filesystem>
#include <fstream>

#include "content_execution.hpp"
#include "mx/plugin.hpp"

MX_PLUGIN("tool_writer", "0.1.0", "content-execution: the Tier 2 writer, streaming artifact events") {
  mx::Factory<mx::Tool> factory;
  factory.name = "content-execution";
  factory.schema = mx::ConfigSchema()
                       .optional("model", mx::ConfigType::String, "", "catalogue id (default: tier 2 default)")
                       .optional("prompt_file", mx::ConfigType::String, "", "writer prompt template with {{brief}}, relative to the config")
                       .optional("system_prompt", mx::ConfigType::String,
                                 "You are a senior marketing copywriter. Write only the requested content.", "writer system prompt")
                       .optional("max_tokens", mx::ConfigType::Integer, 4096, "largest artifact");
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    const mx::Json& c = context.config();
    mx::writer::WriterConfig config;
    config.model = c["model"];
    config.systemPrompt = c["system_prompt"];
    config.maxTokens = c["max_tokens"];
    config.promptTemplate = "Write the {{contentType}} described by this brief, following its template:\n\n{{brief}}";
    std::string file = c["prompt_file"];
    if (!file.empty()) {
      std::filesystem::path path(file);
      if (path.is_relative()) path = std::filesystem::path(context.configDirectory()) / path;
      std::ifstream in(path);
      if (!in) return mx::notFoundError("prompt_file " + path.string() + " cannot be read");
      config.promptTemplate.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (!context.models()) return mx::failedPreconditionError("no model catalogue");
    if (!config.model.empty() && context.models()->find(config.model) == nullptr) {
      return mx::invalidArgumentError("model \"" + config.model + "\" is not in the catalogue");
    }
    return std::unique_ptr<mx::Tool>(std::make_unique<mx::writer::ContentExecutionTool>(config, context.models()));
  };
  return registrar.addTool(std::move(factory));
}
