// Front door of provider_offline: the "offline" model provider, the embedded
// default that runs the whole product with no API key and no network.
#include "mx/http.hpp"
#include "mx/plugin.hpp"
#include "offline_provider.hpp"

MX_PLUGIN("provider_offline", "0.1.0", "Deterministic offline model: canon-first Tier 1 plan and template-filling Tier 2 writer") {
  mx::Factory<mx::ModelProvider> factory;
  factory.name = "offline";
  factory.description = "no model: deterministic plan and template filling (labelled \"offline\")";
  factory.schema = mx::ConfigSchema()
                       .optional("pace_ms", mx::ConfigType::Integer, 0, "delay between streamed deltas")
                       .optional("words_per_delta", mx::ConfigType::Integer, 3, "words per streamed delta");
  factory.validate = [](const mx::Json& c) -> mx::Status {
    if (c["pace_ms"].get<int64_t>() < 0) return mx::invalidArgumentError("pace_ms must not be negative");
    if (c["words_per_delta"].get<int64_t>() < 1) return mx::invalidArgumentError("words_per_delta must be at least 1");
    return mx::Status::ok();
  };
  factory.create = [validate = factory.validate](mx::ComponentContext& context)
      -> mx::Result<std::unique_ptr<mx::ModelProvider>> {
    MX_RETURN_IF_ERROR(validate(context.config()));
    mx::offline::OfflineConfig config;
    config.pace = std::chrono::milliseconds(context.config()["pace_ms"].get<int64_t>());
    config.wordsPerDelta = context.config()["words_per_delta"].get<size_t>();
    std::shared_ptr<mx::HttpClient> http = context.httpClient();
    mx::offline::Scheduler scheduler = [http](std::chrono::milliseconds delay, std::function<void()> task) {
      http->runAfter(delay, std::move(task));
    };
    return std::unique_ptr<mx::ModelProvider>(std::make_unique<mx::offline::OfflineProvider>(config, scheduler));
  };
  return registrar.addModelProvider(std::move(factory));
}
