// mx/testing/fakes.hpp — fakes for plugin authors' unit tests.
//
// FakeComponentContext   a ComponentContext with a config, a recording logger and
//                        components you register by name
// RecordingLogger        keeps every line for assertions
// RecordingEventSink     keeps every emitted event
// InMemoryCache          a plain map cache with TTL against a settable clock
// FaultInjectingCache    wraps a cache: fails calls with Unavailable, or adds latency
// FakeModelProvider      scripted replies (text deltas, tool calls, errors)
// Thread-safety: each fake is safe for concurrent use unless noted.
// Nothing here is linked into the host; include it only from tests.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mx/cache.hpp"
#include "mx/component.hpp"
#include "mx/events.hpp"
#include "mx/model.hpp"
#include "mx/store.hpp"
#include "mx/tool.hpp"
#include "mx/tracer.hpp"
#include "mx/embedder.hpp"
#include "mx/http.hpp"

namespace mx::testing {

class RecordingLogger final : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.emplace_back(level, std::string(message));
  }
  bool enabled(LogLevel) const override { return true; }
  std::vector<std::pair<LogLevel, std::string>> lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  bool contains(std::string_view needle) const {
    for (const auto& [level, line] : lines()) {
      if (line.find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

struct RecordedEvent {
  std::string event;
  std::string data;
  Json json() const { return Json::parse(data); }
};

class RecordingEventSink final : public EventSink {
 public:
  void emit(std::string_view event, std::string data) override {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back({std::string(event), std::move(data)});
  }
  std::vector<RecordedEvent> events() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<RecordedEvent> events_;
};

class FakeComponentContext final : public ComponentContext {
 public:
  explicit FakeComponentContext(Json config = Json::object(), std::string name = "test")
      : config_(std::move(config)), name_(std::move(name)) {}

  std::string_view instanceName() const override { return name_; }
  const Json& config() const override { return config_; }
  Logger& logger() override { return logger_; }
  std::string dataDir() const override { return dataDir_; }
  std::string configDirectory() const override { return configDirectory_; }
  void setConfigDirectory(std::string dir) { configDirectory_ = std::move(dir); }
  std::shared_ptr<HttpClient> httpClient() override { return http; }
  std::shared_ptr<ModelCatalogue> models() override { return catalogue; }

  Result<std::shared_ptr<ModelProvider>> modelProvider(std::string_view n) override { return lookup(providers, n); }
  Result<std::shared_ptr<Tool>> tool(std::string_view n) override { return lookup(tools, n); }
  Result<std::shared_ptr<CacheBackend>> cacheBackend(std::string_view n) override { return lookup(caches, n); }
  Result<std::shared_ptr<Store>> store(std::string_view n) override { return lookup(stores, n); }
  Result<std::shared_ptr<Embedder>> embedder(std::string_view n) override { return lookup(embedders, n); }
  Result<std::shared_ptr<Tracer>> tracer(std::string_view n) override { return lookup(tracers, n); }

  void setDataDir(std::string dir) { dataDir_ = std::move(dir); }
  RecordingLogger& recordingLogger() { return logger_; }

  std::map<std::string, std::shared_ptr<ModelProvider>, std::less<>> providers;
  std::map<std::string, std::shared_ptr<Tool>, std::less<>> tools;
  std::map<std::string, std::shared_ptr<CacheBackend>, std::less<>> caches;
  std::map<std::string, std::shared_ptr<Store>, std::less<>> stores;
  std::map<std::string, std::shared_ptr<Embedder>, std::less<>> embedders;
  std::map<std::string, std::shared_ptr<Tracer>, std::less<>> tracers;
  std::shared_ptr<HttpClient> http;  // set it to a fake or a real client
  std::shared_ptr<ModelCatalogue> catalogue;

 private:
  template <class Map>
  static Result<typename Map::mapped_type> lookup(const Map& map, std::string_view name) {
    auto it = map.find(name);
    if (it == map.end()) {
      return notFoundError("no component named \"" + std::string(name) + "\" in the fake context");
    }
    return it->second;
  }

  Json config_;
  std::string name_;
  std::string dataDir_ = ".";
  std::string configDirectory_ = ".";
  RecordingLogger logger_;
};

class InMemoryCache final : public CacheBackend {
 public:
  using Clock = std::chrono::steady_clock;

  Result<std::optional<std::string>> get(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.second <= now_) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(it->second.first);
  }
  Status set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[std::string(key)] = {std::string(value), now_ + ttl};
    return Status::ok();
  }
  Status erase(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      entries_.erase(it);
    }
    return Status::ok();
  }
  Status erasePrefix(std::string_view prefix) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.lower_bound(prefix);
         it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      it = entries_.erase(it);
    }
    return Status::ok();
  }
  // Moves the fake clock forward (TTL tests).
  void advance(std::chrono::milliseconds by) {
    std::lock_guard<std::mutex> lock(mutex_);
    now_ += by;
  }

 private:
  std::mutex mutex_;
  Clock::time_point now_{};
  std::map<std::string, std::pair<std::string, Clock::time_point>, std::less<>> entries_;
};

class FaultInjectingCache final : public CacheBackend {
 public:
  explicit FaultInjectingCache(std::shared_ptr<CacheBackend> inner) : inner_(std::move(inner)) {}

  void failWith(Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = std::move(status);
  }
  void heal() { failWith(Status::ok()); }
  void setLatency(std::chrono::milliseconds latency) { latency_ = latency; }

  Result<std::optional<std::string>> get(std::string_view key) override {
    if (auto s = fault(); !s.isOk()) return s;
    return inner_->get(key);
  }
  Status set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    if (auto s = fault(); !s.isOk()) return s;
    return inner_->set(key, value, ttl);
  }
  Status erase(std::string_view key) override {
    if (auto s = fault(); !s.isOk()) return s;
    return inner_->erase(key);
  }
  Status erasePrefix(std::string_view prefix) override {
    if (auto s = fault(); !s.isOk()) return s;
    return inner_->erasePrefix(prefix);
  }
  Status health() override { return fault(); }

 private:
  Status fault() {
    if (latency_.load().count() > 0) {
      std::this_thread::sleep_for(latency_.load());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_;
  }

  std::shared_ptr<CacheBackend> inner_;
  std::mutex mutex_;
  Status failure_;
  std::atomic<std::chrono::milliseconds> latency_{std::chrono::milliseconds(0)};
};

// One scripted reply of a FakeModelProvider.
struct ScriptedReply {
  std::vector<std::string> textDeltas;
  std::vector<ContentBlock> toolCalls;   // ToolUse blocks
  StopReason stopReason = StopReason::EndTurn;
  Usage usage;
  Status failure;                        // non-OK: fail after the deltas
};

// Replies in script order (the last reply repeats when the script runs out),
// synchronously on the calling thread. Records every request.
class FakeModelProvider final : public ModelProvider {
 public:
  explicit FakeModelProvider(std::vector<ScriptedReply> script) : script_(script.begin(), script.end()) {}

  std::string providerName() const override { return "fake"; }

  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override {
    ScriptedReply reply;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
      if (!script_.empty()) {
        reply = script_.front();
        if (script_.size() > 1) {
          script_.pop_front();
        }
      }
    }
    ChatResponse response;
    response.id = "fake_" + std::to_string(requests_.size());
    response.model = request.model;
    response.message.role = Role::Assistant;
    std::string text;
    for (const auto& delta : reply.textDeltas) {
      if (cancel.isCancelled()) {
        observer->onComplete(cancelledError("cancelled"), std::move(response));
        return;
      }
      observer->onTextDelta(delta);
      text += delta;
      response.streamedChars += static_cast<int64_t>(delta.size());
    }
    if (!text.empty()) {
      response.message.content.push_back(ContentBlock::makeText(text));
    }
    int index = static_cast<int>(response.message.content.size());
    for (const auto& call : reply.toolCalls) {
      observer->onToolCallStart(index, call.id, call.name);
      observer->onToolCallDelta(index, call.input.dump());
      response.message.content.push_back(call);
      ++index;
    }
    response.stopReason = reply.stopReason;
    response.usage = reply.usage;
    observer->onComplete(reply.failure, std::move(response));
  }

  std::vector<ChatRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<ScriptedReply> script_;
  std::vector<ChatRequest> requests_;
};

// A catalogue of one model ("fake-1", default for both tiers) served by a
// FakeModelProvider; prices each call at `usdPerOutputToken` per output token.
class FakeModelCatalogue final : public ModelCatalogue {
 public:
  explicit FakeModelCatalogue(std::shared_ptr<FakeModelProvider> provider, double usdPerOutputToken = 0.001)
      : provider_(std::move(provider)), usdPerOutputToken_(usdPerOutputToken) {
    info_.id = "fake-1";
    info_.tiers = {1, 2};
    info_.defaultFor = {1, 2};
  }
  std::vector<ModelInfo> list() const override { return {info_}; }
  const ModelInfo* find(std::string_view id) const override { return id == info_.id ? &info_ : nullptr; }
  const ModelInfo* defaultFor(int) const override { return &info_; }
  double costUsd(const ModelInfo&, const Usage& usage) const override {
    return static_cast<double>(usage.outputTokens) * usdPerOutputToken_;
  }
  void chat(std::string_view id, ChatRequest request, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      lastModel_ = std::string(id);
    }
    provider_->chat(std::move(request), std::make_shared<Pricing>(*this, std::move(observer)), std::move(cancel));
  }
  // chatRebuilding asks `build` this many times per call, as a fallback model
  // would ask again, and sends the last request it made.
  void setBuildsPerCall(int builds) { buildsPerCall_ = builds; }
  void chatRebuilding(std::string_view id, RequestBuilder build, std::shared_ptr<ChatObserver> observer,
                      CancellationToken cancel) override {
    ChatRequest request = build();
    for (int i = 1; i < buildsPerCall_; ++i) request = build();
    builds_ += buildsPerCall_;
    chat(id, std::move(request), std::move(observer), std::move(cancel));
  }
  int builds() const { return builds_.load(); }
  std::string lastModel() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lastModel_;
  }

 private:
  struct Pricing final : ChatObserver {
    Pricing(const FakeModelCatalogue& c, std::shared_ptr<ChatObserver> inner) : catalogue(c), inner(std::move(inner)) {}
    void onTextDelta(std::string_view t) override { inner->onTextDelta(t); }
    void onToolCallStart(int i, std::string_view id, std::string_view n) override { inner->onToolCallStart(i, id, n); }
    void onToolCallDelta(int i, std::string_view json) override { inner->onToolCallDelta(i, json); }
    void onComplete(const Status& s, ChatResponse r) override {
      r.costUsd = catalogue.costUsd(catalogue.info_, r.usage);
      inner->onComplete(s, std::move(r));
    }
    const FakeModelCatalogue& catalogue;
    std::shared_ptr<ChatObserver> inner;
  };

  std::shared_ptr<FakeModelProvider> provider_;
  double usdPerOutputToken_;
  ModelInfo info_;
  mutable std::mutex mutex_;
  std::atomic<int> builds_{0};
  int buildsPerCall_ = 1;
  std::string lastModel_;
};

}  // namespace mx::testing
