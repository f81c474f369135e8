#include "chat/run_usage.hpp"

namespace mx::host::chat {

void RunUsage::record(std::string_view model, const Usage& usage, double costUsd, bool completed) {
  std::lock_guard<std::mutex> lock(mutex_);
  total_ += usage;
  ++calls_;
  interrupted_ += completed ? 0 : 1;
  costUsd_ += costUsd;
  auto it = byModel_.find(model);
  if (it == byModel_.end()) it = byModel_.emplace(std::string(model), PerModel{}).first;
  it->second.usage += usage;
  it->second.calls += 1;
  it->second.costUsd += costUsd;
}

Json RunUsage::toJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json byModel = Json::object();
  for (const auto& [model, entry] : byModel_) {
    byModel[model] = {{"inputTokens", entry.usage.inputTokens}, {"outputTokens", entry.usage.outputTokens},
                      {"calls", entry.calls}, {"costUsd", entry.costUsd}};
  }
  return {{"inputTokens", total_.inputTokens},       {"outputTokens", total_.outputTokens},
          {"cacheWriteTokens", total_.cacheWriteTokens()}, {"cacheReadTokens", total_.cacheReadTokens},
          {"modelCalls", calls_},                   {"interruptedCalls", interrupted_},
          {"costUsd", costUsd_},                    {"byModel", byModel}};
}

}  // namespace mx::host::chat
