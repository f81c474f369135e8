// A run's model-call accounting (mx::UsageRecorder): Tier 1 calls of the graph
// and Tier 2 calls inside tools, completed or not — a call cancelled or failed
// part-way still used (and was billed for) the tokens it reported. The chat
// layer sends the totals with the assistant message or the run's error event.
// Thread-safety: record/toJson from any thread. Blocking: never.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "mx/json.hpp"
#include "mx/usage.hpp"

namespace mx::host::chat {

class RunUsage final : public UsageRecorder {
 public:
  void record(std::string_view model, const Usage& usage, double costUsd, bool completed) override;
  // {inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens, modelCalls,
  //  interruptedCalls, costUsd, byModel: {model: {inputTokens, outputTokens, calls, costUsd}}}
  Json toJson() const;

 private:
  struct PerModel {
    Usage usage;
    int64_t calls = 0;
    double costUsd = 0;
  };
  mutable std::mutex mutex_;
  Usage total_;
  int64_t calls_ = 0;
  int64_t interrupted_ = 0;
  double costUsd_ = 0;
  std::map<std::string, PerModel, std::less<>> byModel_;
};

}  // namespace mx::host::chat
