// A well-behaved test plugin whose components exercise the host: config
// schemas of every type, references between components, a factory that
// throws, a component that throws at run time, a health switch.
#include <stdexcept>

#include "mx/plugin.hpp"

namespace {

class EchoTool final : public mx::Tool {
 public:
  explicit EchoTool(mx::Json config) : config_(std::move(config)) {}
  mx::ToolDefinition definition() const override {
    return {"echo", "Echoes its input", {{"type", "object"}}};
  }
  void invoke(mx::Json arguments, std::shared_ptr<mx::ToolContext>, mx::ToolDone done) override {
    done(mx::Json{{"greeting", config_["greeting"]}, {"arguments", arguments}});
  }

 private:
  mx::Json config_;
};

// Health follows its config; get() throws to prove the host's boundary guard.
class SwitchCache final : public mx::CacheBackend {
 public:
  explicit SwitchCache(bool healthy) : healthy_(healthy) {}
  mx::Status health() override {
    return healthy_ ? mx::Status::ok() : mx::unavailableError("switched off by config");
  }
  mx::Result<std::optional<std::string>> get(std::string_view) override {
    throw std::runtime_error("get exploded");
  }
  mx::Status set(std::string_view, std::string_view, std::chrono::milliseconds) override { return {}; }
  mx::Status erase(std::string_view) override { return {}; }
  mx::Status erasePrefix(std::string_view) override { return {}; }

 private:
  bool healthy_;
};

// Only ever created with explode = false in tests that need a Store to exist.
class NamedStore final : public mx::Store {
 public:
  std::string backendName() const override { return "test"; }
  int embeddingDimensions() const override { return 0; }
  mx::Status putResource(const mx::ResourceRecord&, const std::vector<mx::ChunkRecord>&) override { return unimplemented(); }
  mx::Result<std::vector<mx::ResourceRecord>> listResources(std::string_view, mx::Page) override { return unimplemented(); }
  mx::Result<mx::ResourceRecord> getResource(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Status deleteResource(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Result<std::vector<mx::SearchHit>> searchText(const mx::SearchQuery&) override { return unimplemented(); }
  mx::Result<std::vector<mx::SearchHit>> searchVector(const mx::SearchQuery&) override { return unimplemented(); }
  mx::Result<std::vector<mx::CanonEntry>> listCanon(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Status putCanon(const mx::CanonEntry&) override { return unimplemented(); }
  mx::Status deleteCanon(std::string_view, std::string_view, std::string_view, std::string_view) override { return unimplemented(); }
  mx::Status putConversation(const mx::ConversationRecord&) override { return unimplemented(); }
  mx::Result<mx::ConversationRecord> getConversation(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Result<std::vector<mx::ConversationRecord>> listConversations(std::string_view, mx::Page) override { return unimplemented(); }
  mx::Status deleteConversation(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Status appendMessage(const mx::MessageRecord&) override { return unimplemented(); }
  mx::Result<std::vector<mx::MessageRecord>> listMessages(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Status putArtifact(const mx::ArtifactRecord&) override { return unimplemented(); }
  mx::Result<mx::ArtifactRecord> getArtifact(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Result<std::vector<mx::ArtifactRecord>> listArtifacts(std::string_view, std::string_view) override { return unimplemented(); }
  mx::Status appendRunEvents(std::string_view, std::string_view, std::string_view, const std::vector<mx::RunEvent>&) override {
    return unimplemented();
  }
  mx::Result<std::vector<mx::RunEvent>> runEvents(std::string_view, std::string_view, int64_t) override { return unimplemented(); }
  std::shared_ptr<mx::Checkpointer> checkpointer() override { return nullptr; }

 private:
  static mx::Status unimplemented() { return mx::unimplementedError("test store holds nothing"); }
};

}  // namespace

MX_PLUGIN("test_good", "1.2.3", "Test plugin with one component of several kinds") {
  mx::Factory<mx::Tool> echo;
  echo.name = "echo";
  echo.description = "echo tool";
  echo.schema = mx::ConfigSchema()
                    .required("greeting", mx::ConfigType::String, "what to say")
                    .optional("repeat", mx::ConfigType::Integer, 1, "how often")
                    .optional("ratio", mx::ConfigType::Float, 0.5, "a float")
                    .optional("loud", mx::ConfigType::Boolean, false, "shout")
                    .optional("tags", mx::ConfigType::StringArray, mx::Json::array(), "labels")
                    .optional("api_key", mx::ConfigType::String, "", "a secret")
                    .secret();
  echo.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Tool>> {
    return std::unique_ptr<mx::Tool>(std::make_unique<EchoTool>(context.config()));
  };
  MX_RETURN_IF_ERROR(registrar.addTool(std::move(echo)));

  mx::Factory<mx::CacheBackend> switchCache;
  switchCache.name = "switch";
  switchCache.schema = mx::ConfigSchema()
                           .optional("healthy", mx::ConfigType::Boolean, true, "health() result")
                           .optional("uses", mx::ConfigType::String, "", "another cache to look up");
  switchCache.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::CacheBackend>> {
    std::string uses = context.config()["uses"];
    if (!uses.empty()) {
      auto other = context.cacheBackend(uses);
      if (!other) {
        return other.status();
      }
    }
    return std::unique_ptr<mx::CacheBackend>(std::make_unique<SwitchCache>(context.config()["healthy"]));
  };
  MX_RETURN_IF_ERROR(registrar.addCacheBackend(std::move(switchCache)));

  mx::Factory<mx::Store> exploding;
  exploding.name = "exploding";
  exploding.schema = mx::ConfigSchema().optional("explode", mx::ConfigType::Boolean, true, "throw in create");
  exploding.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Store>> {
    if (context.config()["explode"].get<bool>()) {
      throw std::runtime_error("database on fire");
    }
    return std::unique_ptr<mx::Store>(std::make_unique<NamedStore>());
  };
  return registrar.addStore(std::move(exploding));
}
