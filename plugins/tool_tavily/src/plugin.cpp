// Front door of tool_tavily: the web-search tool.
#include "mx/plugin.hpp"
#include "tavily_search.hpp"

MX_PLUGIN("tool_tavily", "0.1.0", "web-search on Tavily") {
  mx::Factory<mx::Tool> factory;
  factory.name = "tavily";
  factory.schema = mx::ConfigSchema()
                       .optional("api_key", mx::ConfigType::String, "", "Tavily key (empty: web search disabled)")
                       .secret()
                       .optional("base_url", mx::ConfigType::String, "https://api.tavily.com", "API base URL")
                       .optional("timeout_ms", mx::ConfigType::Integer, 60000, "per search")
                       .optional("default_max_results", mx::ConfigType::Integer, 5, "basic search results");
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    const mx::Json& c = context.config();
    mx::tavily::TavilyConfig config;
    config.apiKey = c["api_key"];
    config.baseUrl = c["base_url"];
    config.timeout = std::chrono::milliseconds(c["timeout_ms"].get<int64_t>());
    config.defaultMaxResults = c["default_max_results"];
    if (config.apiKey.empty()) context.logger().info("no api_key: web-search answers that it is disabled");
    return std::unique_ptr<mx::Tool>(std::make_unique<mx::tavily::WebSearchTool>(config, context.httpClient()));
  };
  return registrar.addTool(std::move(factory));
}
