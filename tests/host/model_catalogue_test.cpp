// The model catalogue: loading and validation of [models.*], exact cost, and
// calls by catalogue id with fallback before streaming.
#include <gtest/gtest.h>

#include "models/model_catalogue.hpp"
#include "mx/testing/fakes.hpp"
#include "process.hpp"
#include "runtime/guards.hpp"

namespace mx::host {
namespace {

const std::string kProviders = R"(
[providers.anthropic]
factory = "anthropic"
[providers.openai]
factory = "openai"
[providers.spare]
factory = "openai"
enabled = false
)";

std::shared_ptr<HostModelCatalogue> load(const std::string& models, std::vector<ConfigError>& errors) {
  static mx::test::TempDir dir;
  static DeploymentConfig config;
  std::string file = dir.write("deploy.toml", kProviders + models);
  config = loadDeploymentConfig(file, processEnvironment(), errors);
  return HostModelCatalogue::load(config, processEnvironment(), errors);
}

const std::string kSonnet = R"(
[models.sonnet]
provider = "anthropic"
model = "claude-sonnet-4-5-20250929"
display_name = "Claude Sonnet 4.5"
tiers = [1, 2]
default_for = [1]
context_window = 200000
input_per_mtok = 3.0
output_per_mtok = 15.0
cache_write_5m_per_mtok = 3.75
cache_write_1h_per_mtok = 6.0
cache_read_per_mtok = 0.30
fallback = "mini"
[models.mini]
provider = "openai"
model = "gpt-4o-mini"
tiers = [2]
default_for = [2]
input_per_mtok = 0.15
output_per_mtok = 0.60
cache_read_per_mtok = 0.075
[models.hidden]
provider = "spare"
tiers = [2]
)";

TEST(ModelCatalogue, LoadsEntriesDefaultsAndSkipsDisabledProviders) {
  std::vector<ConfigError> errors;
  auto catalogue = load(kSonnet, errors);
  ASSERT_TRUE(errors.empty()) << errors[0].str();
  ASSERT_EQ(catalogue->list().size(), 2u);
  const ModelInfo* sonnet = catalogue->find("sonnet");
  ASSERT_NE(sonnet, nullptr);
  EXPECT_EQ(sonnet->providerModel, "claude-sonnet-4-5-20250929");
  EXPECT_EQ(sonnet->providerKind, "anthropic");
  EXPECT_EQ(catalogue->defaultFor(1)->id, "sonnet");
  EXPECT_EQ(catalogue->defaultFor(2)->id, "mini");
  EXPECT_EQ(catalogue->find("hidden"), nullptr);
  Json described = catalogue->describe();
  EXPECT_EQ(described["defaults"], Json({{"tier1", "sonnet"}, {"tier2", "mini"}}));
  EXPECT_EQ(described["models"][0]["pricing"]["cacheWrite1h"], 6.0);
  EXPECT_EQ(described["models"][0]["fallback"], "mini");
  EXPECT_EQ(described["models"][1]["offline"], false);
}

TEST(ModelCatalogue, CostIsExactIncludingCacheTokens) {
  std::vector<ConfigError> errors;
  auto catalogue = load(kSonnet, errors);
  Usage usage;
  usage.inputTokens = 18;
  usage.outputTokens = 100;
  usage.cacheWrite5mTokens = 1031;
  EXPECT_DOUBLE_EQ(catalogue->costUsd(*catalogue->find("sonnet"), usage), (18 * 3.0 + 100 * 15.0 + 1031 * 3.75) / 1e6);
  Usage oneHour;
  oneHour.cacheWrite1hTokens = 2056;
  oneHour.cacheReadTokens = 1000;
  EXPECT_DOUBLE_EQ(catalogue->costUsd(*catalogue->find("sonnet"), oneHour), (2056 * 6.0 + 1000 * 0.30) / 1e6);
  Usage openai;
  openai.inputTokens = 140;
  openai.cacheReadTokens = 1280;
  openai.outputTokens = 15;
  EXPECT_DOUBLE_EQ(catalogue->costUsd(*catalogue->find("mini"), openai), (140 * 0.15 + 1280 * 0.075 + 15 * 0.60) / 1e6);
}

TEST(ModelCatalogue, ValidationErrors) {
  std::vector<ConfigError> errors;
  load(R"(
[models.a]
provider = "anthropik"
tiers = [1]
[models.b]
provider = "anthropic"
tiers = [3]
[models.c]
provider = "anthropic"
tiers = [2]
default_for = [1]
[models.d]
provider = "openai"
tiers = [2]
fallback = "nope"
[models.e]
provider = "openai"
[models.f]
provider = "openai"
tiers = [1]
fallback = "g"
[models.g]
provider = "openai"
tiers = [1]
fallback = "f"
)", errors);
  std::string all;
  for (const auto& e : errors) all += e.str() + "\n";
  EXPECT_NE(all.find("[models.a] provider \"anthropik\" is not a configured [providers.*] instance (did you mean \"anthropic\"?)"), std::string::npos) << all;
  EXPECT_NE(all.find("[models.b] tiers must contain only 1 and 2"), std::string::npos) << all;
  EXPECT_NE(all.find("[models.c] is the default for tier 1 but does not serve it"), std::string::npos) << all;
  EXPECT_NE(all.find("[models.d] fallback \"nope\" is not in the catalogue"), std::string::npos) << all;
  EXPECT_NE(all.find("[models.e] missing required key \"tiers\""), std::string::npos) << all;
  EXPECT_NE(all.find("[models.f] fallbacks form a cycle"), std::string::npos) << all;
  EXPECT_NE(all.find("deploy.toml:"), std::string::npos);
}

TEST(ModelCatalogue, TwoDefaultsForATierAreRefused) {
  std::vector<ConfigError> errors;
  load("[models.x]\nprovider = \"openai\"\ntiers = [2]\ndefault_for = [2]\n[models.y]\nprovider = \"openai\"\ntiers = [2]\ndefault_for = [2]\n", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("more than one default model for tier 2"), std::string::npos);
}

struct Outcome : ChatObserver {
  Status status;
  ChatResponse response;
  bool done = false;
  void onComplete(const Status& s, ChatResponse r) override {
    status = s;
    response = std::move(r);
    done = true;
  }
};

class Routing : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<ConfigError> errors;
    catalogue_ = load(kSonnet, errors);
    catalogue_->setProviderLookup([this](std::string_view name) -> Result<std::shared_ptr<ModelProvider>> {
      if (name == "anthropic") return std::shared_ptr<ModelProvider>(primary_);
      if (name == "openai") return std::shared_ptr<ModelProvider>(secondary_);
      return notFoundError("no provider");
    });
  }
  std::shared_ptr<Outcome> call(const std::string& model) {
    auto outcome = std::make_shared<Outcome>();
    ChatRequest request;
    request.messages = {{Role::User, {ContentBlock::makeText("hi")}}};
    catalogue_->chat(model, request, outcome, {});
    return outcome;
  }
  Usage usage(int64_t in, int64_t out) {
    Usage u;
    u.inputTokens = in;
    u.outputTokens = out;
    return u;
  }

  std::shared_ptr<HostModelCatalogue> catalogue_;
  std::shared_ptr<testing::FakeModelProvider> primary_;
  std::shared_ptr<testing::FakeModelProvider> secondary_;
};

TEST_F(Routing, SendsTheProvidersModelIdAndPricesTheCall) {
  primary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"Hello"}, {}, StopReason::EndTurn, usage(1000, 100), {}}});
  auto outcome = call("sonnet");
  ASSERT_TRUE(outcome->done && outcome->status.isOk());
  EXPECT_EQ(primary_->requests().at(0).model, "claude-sonnet-4-5-20250929");
  EXPECT_DOUBLE_EQ(outcome->response.costUsd, (1000 * 3.0 + 100 * 15.0) / 1e6);
}

TEST_F(Routing, FailureBeforeStreamingFallsBackAndCountsBothCosts) {
  primary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{}, {}, StopReason::None, usage(500, 0), unavailableError("529 overloaded")}});
  secondary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"From mini"}, {}, StopReason::EndTurn, usage(100, 10), {}}});
  auto outcome = call("sonnet");
  ASSERT_TRUE(outcome->status.isOk()) << outcome->status.toString();
  EXPECT_EQ(secondary_->requests().at(0).model, "gpt-4o-mini");
  EXPECT_EQ(outcome->response.message.content.at(0).text, "From mini");
  EXPECT_DOUBLE_EQ(outcome->response.costUsd, (500 * 3.0) / 1e6 + (100 * 0.15 + 10 * 0.60) / 1e6);
}

TEST_F(Routing, FailureAfterStreamingDoesNotFallBack) {
  primary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{"Partial"}, {}, StopReason::None, usage(10, 1), unavailableError("reset")}});
  secondary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{});
  auto outcome = call("sonnet");
  EXPECT_EQ(outcome->status.code(), Code::Unavailable);
  EXPECT_TRUE(secondary_->requests().empty());
}

TEST_F(Routing, CancellationDoesNotFallBackAndUnknownModelsAreNotFound) {
  primary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{
      {{}, {}, StopReason::None, {}, cancelledError("cancelled")}});
  secondary_ = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{});
  EXPECT_EQ(call("sonnet")->status.code(), Code::Cancelled);
  EXPECT_TRUE(secondary_->requests().empty());
  EXPECT_EQ(call("claude-9")->status.code(), Code::NotFound);
}

// A provider that takes its request shared (SDK ABI 1.5): it answers from a
// FakeModelProvider's script and remembers the request it was handed.
class SharingProvider final : public ModelProvider, public SharedRequestChat {
 public:
  explicit SharingProvider(std::vector<testing::ScriptedReply> script, bool throws = false)
      : fake_(std::make_shared<testing::FakeModelProvider>(std::move(script))), throws_(throws) {}
  std::string providerName() const override { return "sharing"; }
  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override {
    ++copiesReceived;
    fake_->chat(std::move(request), std::move(observer), std::move(cancel));
  }
  void chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                  CancellationToken cancel) override {
    if (throws_) throw std::runtime_error("boom");
    received = request;
    fake_->chat(*request, std::move(observer), std::move(cancel));
  }
  std::weak_ptr<const ChatRequest> received;
  int copiesReceived = 0;
  std::shared_ptr<testing::FakeModelProvider> fake_;

 private:
  bool throws_;
};

// Records, at the first words, how many owners the shared request has left.
struct WatchingOutcome : Outcome {
  std::shared_ptr<SharingProvider> provider;
  long ownersAtFirstWords = -1;
  void onTextDelta(std::string_view) override {
    if (ownersAtFirstWords < 0) ownersAtFirstWords = provider->received.use_count();
  }
};

std::shared_ptr<HostModelCatalogue> catalogueOver(std::shared_ptr<ModelProvider> primary, std::shared_ptr<ModelProvider> secondary) {
  std::vector<ConfigError> errors;
  auto catalogue = load(kSonnet, errors);
  catalogue->setProviderLookup([primary, secondary](std::string_view name) -> Result<std::shared_ptr<ModelProvider>> {
    return name == "anthropic" ? primary : secondary;
  });
  return catalogue;
}

ChatRequest hello() {
  ChatRequest request;
  request.messages = {{Role::User, {ContentBlock::makeText("hi")}}};
  return request;
}

TEST(SharedRequests, TheProviderAndTheFallbackShareOneRequestUntilTheFirstWords) {
  auto primary = std::make_shared<SharingProvider>(std::vector<testing::ScriptedReply>{{{"Hello", " there"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), guard(std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{}), "providers.openai"));
  auto outcome = std::make_shared<WatchingOutcome>();
  outcome->provider = primary;
  catalogue->chat("sonnet", hello(), outcome, {});
  ASSERT_TRUE(outcome->done && outcome->status.isOk()) << outcome->status.toString();
  EXPECT_EQ(primary->copiesReceived, 0) << "reached through the guard's chatShared, not a copy";
  EXPECT_EQ(primary->fake_->requests().at(0).model, "claude-sonnet-4-5-20250929");
  EXPECT_EQ(outcome->ownersAtFirstWords, 1) << "the catalogue lets go of the fallback's request at the first words";
  EXPECT_TRUE(primary->received.expired());
}

TEST(SharedRequests, AFallbackGetsTheSameRequestUnderItsOwnModelId) {
  auto primary = std::make_shared<SharingProvider>(std::vector<testing::ScriptedReply>{{{}, {}, StopReason::None, {}, unavailableError("529 overloaded")}});
  auto secondary = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"From mini"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), guard(secondary, "providers.openai"));
  auto outcome = std::make_shared<Outcome>();
  catalogue->chat("sonnet", hello(), outcome, {});
  ASSERT_TRUE(outcome->status.isOk()) << outcome->status.toString();
  ASSERT_EQ(secondary->requests().size(), 1u);
  EXPECT_EQ(secondary->requests()[0].model, "gpt-4o-mini");
  EXPECT_EQ(secondary->requests()[0].messages.at(0).content.at(0).text, "hi");
  EXPECT_EQ(primary->fake_->requests().at(0).model, "claude-sonnet-4-5-20250929") << "the primary's request was not changed";
}

TEST(SharedRequests, TheGuardCopiesForAPluginThatCannotShareAndCatchesOneThatThrows) {
  auto plain = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"ok"}, {}, StopReason::EndTurn, {}, {}}});
  auto guarded = guard(plain, "providers.plain");
  auto* sharing = dynamic_cast<SharedRequestChat*>(guarded.get());
  ASSERT_NE(sharing, nullptr) << "every guarded provider takes shared requests";
  auto outcome = std::make_shared<Outcome>();
  sharing->chatShared(std::make_shared<const ChatRequest>(hello()), outcome, {});
  EXPECT_TRUE(outcome->done && outcome->status.isOk());
  EXPECT_EQ(plain->requests().at(0).messages.at(0).content.at(0).text, "hi");

  auto throwing = guard(std::make_shared<SharingProvider>(std::vector<testing::ScriptedReply>{}, true), "providers.broken");
  auto failed = std::make_shared<Outcome>();
  dynamic_cast<SharedRequestChat&>(*throwing).chatShared(std::make_shared<const ChatRequest>(hello()), failed, {});
  EXPECT_EQ(failed->status.code(), Code::Internal);
  EXPECT_NE(failed->status.message().find("providers.broken threw: boom"), std::string::npos) << failed->status.message();
}


// chatRebuilding (SDK 2.1): the catalogue keeps the builder, not a request, for the fallback.
TEST(RebuiltRequests, TheProviderGetsTheRequestItselfAndNoCopyIsKeptForTheFallback) {
  auto primary = std::make_shared<SharingProvider>(std::vector<testing::ScriptedReply>{{{"Hello"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), guard(std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{}), "providers.openai"));
  int built = 0;
  auto outcome = std::make_shared<Outcome>();
  catalogue->chatRebuilding("sonnet", [&] { ++built; return hello(); }, outcome, {});
  ASSERT_TRUE(outcome->done && outcome->status.isOk()) << outcome->status.toString();
  EXPECT_EQ(built, 1);
  EXPECT_EQ(primary->copiesReceived, 1) << "handed over by value: the catalogue keeps nothing to share it with";
  EXPECT_EQ(primary->fake_->requests().at(0).model, "claude-sonnet-4-5-20250929");
}

TEST(RebuiltRequests, AFallbackGetsARequestBuiltAgainUnderItsOwnModelId) {
  auto primary = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{}, {}, StopReason::None, {}, unavailableError("529 overloaded")}});
  auto secondary = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"From mini"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), guard(secondary, "providers.openai"));
  int built = 0;
  auto outcome = std::make_shared<Outcome>();
  catalogue->chatRebuilding("sonnet", [&] {
    ChatRequest request = hello();
    request.messages[0].content[0].text += std::to_string(++built);
    return request;
  }, outcome, {});
  ASSERT_TRUE(outcome->status.isOk()) << outcome->status.toString();
  EXPECT_EQ(built, 2);
  EXPECT_EQ(primary->requests().at(0).messages.at(0).content.at(0).text, "hi1");
  ASSERT_EQ(secondary->requests().size(), 1u);
  EXPECT_EQ(secondary->requests()[0].model, "gpt-4o-mini");
  EXPECT_EQ(secondary->requests()[0].messages.at(0).content.at(0).text, "hi2");
}

TEST(RebuiltRequests, ABuilderThatThrowsForTheFallbackEndsTheCallWithAnErrorAndItsCost) {
  Usage spent;
  spent.inputTokens = 500;
  auto primary = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{}, {}, StopReason::None, spent, unavailableError("529 overloaded")}});
  auto secondary = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), guard(secondary, "providers.openai"));
  int built = 0;
  auto outcome = std::make_shared<Outcome>();
  catalogue->chatRebuilding("sonnet", [&] {
    if (++built > 1) throw std::runtime_error("state gone");
    return hello();
  }, outcome, {});
  ASSERT_TRUE(outcome->done);
  EXPECT_EQ(outcome->status.code(), Code::Internal);
  EXPECT_NE(outcome->status.message().find("providers.openai threw: building the request for model mini: state gone"),
            std::string::npos)
      << outcome->status.message();
  EXPECT_DOUBLE_EQ(outcome->response.costUsd, 500 * 3.0 / 1e6) << "the failed attempt is still priced";
  EXPECT_TRUE(secondary->requests().empty());
}

TEST(RebuiltRequests, WithoutAFallbackTheBuilderRunsOnceAndAnUnknownModelIsNotFound) {
  auto primary = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{}, {}, StopReason::None, {}, unavailableError("down")}});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), guard(primary, "providers.openai"));
  int built = 0;
  auto outcome = std::make_shared<Outcome>();
  catalogue->chatRebuilding("mini", [&] { ++built; return hello(); }, outcome, {});  // mini has no fallback
  EXPECT_EQ(outcome->status.code(), Code::Unavailable);
  EXPECT_EQ(built, 1);
  auto unknown = std::make_shared<Outcome>();
  catalogue->chatRebuilding("claude-9", [&] { ++built; return hello(); }, unknown, {});
  EXPECT_EQ(unknown->status.code(), Code::NotFound);
  EXPECT_EQ(built, 1) << "nothing is built for a model that is not there";
}


// A provider that rebuilds its request for retries (SDK 2.1): remembers the builder it was given.
class RebuildingProvider final : public ModelProvider, public RebuildingChat {
 public:
  explicit RebuildingProvider(std::vector<testing::ScriptedReply> script)
      : fake_(std::make_shared<testing::FakeModelProvider>(std::move(script))) {}
  std::string providerName() const override { return "rebuilding"; }
  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override {
    ++copiesReceived;
    fake_->chat(std::move(request), std::move(observer), std::move(cancel));
  }
  void chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override {
    builder = build;
    fake_->chat(build(), std::move(observer), std::move(cancel));
  }
  ChatRequestBuilder builder;
  int copiesReceived = 0;
  std::shared_ptr<testing::FakeModelProvider> fake_;
};

TEST(RebuiltRequests, AProviderThatRebuildsGetsTheBuilderWithItsModelIdSet) {
  auto primary = std::make_shared<RebuildingProvider>(std::vector<testing::ScriptedReply>{{{"Hello"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = catalogueOver(guard(primary, "providers.anthropic"), nullptr);
  int built = 0;
  auto outcome = std::make_shared<Outcome>();
  catalogue->chatRebuilding("sonnet", [&] { ++built; return hello(); }, outcome, {});
  ASSERT_TRUE(outcome->done && outcome->status.isOk()) << outcome->status.toString();
  EXPECT_EQ(primary->copiesReceived, 0) << "through the guard to the plugin's chatRebuilding";
  ASSERT_TRUE(primary->builder);
  ChatRequest again = primary->builder();  // what a retry would send
  EXPECT_EQ(again.model, "claude-sonnet-4-5-20250929");
  EXPECT_EQ(again.messages.at(0).content.at(0).text, "hi");
  EXPECT_EQ(built, 2);
}

TEST(RebuiltRequests, AnUnguardedProviderGetsTheRequestBuiltOnceAndABuilderErrorIsTheCallsError) {
  auto plain = std::make_shared<testing::FakeModelProvider>(std::vector<testing::ScriptedReply>{{{"ok"}, {}, StopReason::EndTurn, {}, {}}});
  auto catalogue = catalogueOver(plain, plain);
  auto fine = std::make_shared<Outcome>();
  catalogue->chatRebuilding("mini", [] { return hello(); }, fine, {});
  ASSERT_TRUE(fine->status.isOk()) << fine->status.toString();
  EXPECT_EQ(plain->requests().at(0).model, "gpt-4o-mini");
  auto failed = std::make_shared<Outcome>();
  catalogue->chatRebuilding("mini", []() -> ChatRequest { throw std::runtime_error("no state"); }, failed, {});
  EXPECT_EQ(failed->status.code(), Code::Internal);
  EXPECT_EQ(failed->status.message(), "building the request for model mini: no state");
  auto odd = std::make_shared<Outcome>();
  catalogue->chatRebuilding("mini", []() -> ChatRequest { throw 7; }, odd, {});
  EXPECT_EQ(odd->status.code(), Code::Internal);
  EXPECT_EQ(odd->status.message(), "building the request for model mini: a non-standard exception");
}

}  // namespace
}  // namespace mx::host
