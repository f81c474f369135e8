// OfflineProvider — the embedded default model provider: no network, no key,
// deterministic. With tools offered, or at the end of a conversation whose
// tools were run for it, it plays Tier 1 (offline_planner.hpp); given one
// self-contained brief, Tier 2 (offline_writer.hpp). Text is streamed in small word groups
// (optionally paced) so that a client sees the same event flow as with a real
// model; usage is estimated at about 4 characters per token and reported
// under the model name "offline".
// Thread-safety: chat() from any thread. Callbacks run on the host's HTTP I/O
// thread (its timer), or inline when no scheduler is given (unit tests).
// Blocking: never.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "mx/model.hpp"

namespace mx::offline {

using Scheduler = std::function<void(std::chrono::milliseconds, std::function<void()>)>;

struct OfflineConfig {
  std::chrono::milliseconds pace{0};  // delay between deltas
  size_t wordsPerDelta = 3;
};

class OfflineProvider final : public ModelProvider {
 public:
  OfflineProvider(OfflineConfig config, Scheduler scheduler);

  std::string providerName() const override { return "offline"; }
  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override;

 private:
  OfflineConfig config_;
  Scheduler scheduler_;
};

// Splits text into deltas of `words` words, keeping every character.
std::vector<std::string> wordDeltas(const std::string& text, size_t words);

}  // namespace mx::offline
