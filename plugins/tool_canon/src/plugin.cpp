// Front door of tool_canon: the fetch-canon tool.
#include <filesystem>

#include "canon_library.hpp"
#include "mx/plugin.hpp"
#include "mx/tool.hpp"

namespace {

class FetchCanonTool final : public mx::Tool {
 public:
  FetchCanonTool(std::unique_ptr<mx::canon::CanonLibrary> library, std::shared_ptr<mx::Store> store,
                 std::shared_ptr<mx::CacheBackend> cache, std::chrono::milliseconds ttl, mx::Logger& logger)
      : library_(std::move(library)), store_(std::move(store)), cache_(std::move(cache)), ttl_(ttl), logger_(logger) {}

  mx::ToolDefinition definition() const override {
    return {"fetch-canon", "Load proprietary frameworks, templates, and compliance rules",
            mx::Json::parse(R"({"type":"object","properties":{
              "category":{"type":"string","enum":["template","framework","compliance","all"]},
              "contentType":{"type":"string","enum":["email","ad","landing-page","script"]}},
              "required":["category","contentType"]})")};
  }
  bool blocking() const override { return true; }
  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext> context, mx::ToolDone done) override {
    done(library_->fetch(context->userId, arguments.value("contentType", ""), arguments.value("category", "all"), store_.get(),
                         cache_.get(), ttl_, &logger_));
  }

 private:
  std::unique_ptr<mx::canon::CanonLibrary> library_;
  std::shared_ptr<mx::Store> store_;
  std::shared_ptr<mx::CacheBackend> cache_;
  std::chrono::milliseconds ttl_;
  mx::Logger& logger_;
};

}  // namespace

MX_PLUGIN("tool_canon", "0.1.0", "fetch-canon: templates, frameworks and compliance rules, with per-user overrides") {
  mx::Factory<mx::Tool> factory;
  factory.name = "fetch-canon";
  factory.schema = mx::ConfigSchema()
                       .optional("directory", mx::ConfigType::String, "canon", "shipped canon files, relative to the config file")
                       .optional("store", mx::ConfigType::String, "", "store instance holding user overrides")
                       .optional("cache", mx::ConfigType::String, "", "cache instance for the canon layer")
                       .optional("cache_ttl_seconds", mx::ConfigType::Integer, 7 * 24 * 3600, "canon cache TTL (7 days)");
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    const mx::Json& c = context.config();
    std::filesystem::path directory(c["directory"].get<std::string>());
    if (directory.is_relative()) directory = std::filesystem::path(context.configDirectory()) / directory;
    auto library = mx::canon::CanonLibrary::load(directory.string());
    if (!library) return library.status();
    std::shared_ptr<mx::Store> store;
    if (!c["store"].get<std::string>().empty()) {
      auto found = context.store(c["store"].get<std::string>());
      if (!found) return found.status();
      store = *found;
    }
    std::shared_ptr<mx::CacheBackend> cache;
    if (!c["cache"].get<std::string>().empty()) {
      auto found = context.cacheBackend(c["cache"].get<std::string>());
      if (!found) return found.status();
      cache = *found;
    }
    return std::unique_ptr<mx::Tool>(std::make_unique<FetchCanonTool>(
        std::move(*library), store, cache, std::chrono::seconds(c["cache_ttl_seconds"].get<int64_t>()), context.logger()));
  };
  return registrar.addTool(std::move(factory));
}
