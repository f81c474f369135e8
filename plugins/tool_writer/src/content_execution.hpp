// content-execution: Tier 2, stateless. Renders the writer prompt from its
// template file with the brief, streams the Tier 2 model's text to the client
// as `artifact` events (start, delta per model delta, end with the word
// count) and returns the artifact wrapped in XML markers
// (<artifact id=... type=...>...</artifact>) with its word count, usage and
// cost. When the model fails midway, `end` says the artifact is incomplete and
// the tool fails with how much was written; the partial text stays in the run's
// event log.
// Thread-safety: invoke() may run concurrently. Blocking: never.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mx/model.hpp"
#include "mx/tool.hpp"

namespace mx::writer {

struct WriterConfig {
  std::string model;          // catalogue id; empty: the state's preference or the tier-2 default
  std::string promptTemplate; // contains {{brief}}
  std::string systemPrompt;
  int maxTokens = 4096;
};

class ContentExecutionTool final : public Tool {
 public:
  ContentExecutionTool(WriterConfig config, std::shared_ptr<ModelCatalogue> models);
  ToolDefinition definition() const override;
  void invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) override;

  std::string renderPrompt(const Json& brief) const;
  std::string modelFor(const Json* state) const;

 private:
  WriterConfig config_;
  std::shared_ptr<ModelCatalogue> models_;
};

int64_t countWords(std::string_view text);

}  // namespace mx::writer
