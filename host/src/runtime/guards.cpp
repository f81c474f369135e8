#include "runtime/guards.hpp"

#include <atomic>

#include "mx/json_parse.hpp"

namespace mx::host {

namespace {

template <class T>
class GuardBase : public T {
 public:
  GuardBase(std::shared_ptr<T> inner, std::string label)
      : inner_(std::move(inner)), label_(std::move(label)) {}
  Status health() override {
    return guardedCall(label_, [&] { return inner_->health(); });
  }
  void shutdown() override {
    (void)guardedCall(label_, [&] {
      inner_->shutdown();
      return Status::ok();
    });
  }

 protected:
  std::shared_ptr<T> inner_;
  std::string label_;
};

// Makes sure a completion callback runs exactly once, even if the plugin
// throws after (or instead of) calling it.
template <class Callback>
class Once {
 public:
  explicit Once(Callback callback) : state_(std::make_shared<State>(std::move(callback))) {}
  template <class... Args>
  void operator()(Args&&... args) const {
    if (!state_->called.exchange(true)) {
      state_->callback(std::forward<Args>(args)...);
    }
  }
  bool called() const { return state_->called.load(); }

 private:
  struct State {
    explicit State(Callback c) : callback(std::move(c)) {}
    Callback callback;
    std::atomic<bool> called{false};
  };
  std::shared_ptr<State> state_;
};

// Also a SharedRequestChat and a RebuildingChat: forwards to the plugin's when
// it has one, and hands a plugin without it a copy of the request, or the
// request built once.
class GuardedModelProvider final : public GuardBase<ModelProvider>, public SharedRequestChat, public RebuildingChat {
 public:
  GuardedModelProvider(std::shared_ptr<ModelProvider> inner, std::string label)
      : GuardBase(std::move(inner), std::move(label)),
        shared_(dynamic_cast<SharedRequestChat*>(inner_.get())),
        rebuilding_(dynamic_cast<RebuildingChat*>(inner_.get())) {}
  std::string providerName() const override {
    try {
      return inner_->providerName();
    } catch (...) {
      return "unknown";
    }
  }
  void chat(ChatRequest request, std::shared_ptr<ChatObserver> observer,
            CancellationToken cancel) override {
    guarded(*observer, [&] { inner_->chat(std::move(request), observer, std::move(cancel)); });
  }
  void chatShared(std::shared_ptr<const ChatRequest> request, std::shared_ptr<ChatObserver> observer,
                  CancellationToken cancel) override {
    guarded(*observer, [&] {
      if (shared_ != nullptr) {
        shared_->chatShared(std::move(request), observer, std::move(cancel));
      } else {
        inner_->chat(ChatRequest(*request), observer, std::move(cancel));
      }
    });
  }
  void chatRebuilding(ChatRequestBuilder build, std::shared_ptr<ChatObserver> observer, CancellationToken cancel) override {
    guarded(*observer, [&] {
      if (rebuilding_ != nullptr) {
        rebuilding_->chatRebuilding(std::move(build), observer, std::move(cancel));
      } else {
        inner_->chat(build(), observer, std::move(cancel));
      }
    });
  }

 private:
  template <class Call>
  void guarded(ChatObserver& observer, Call&& call) {
    try {
      call();
    } catch (const std::exception& e) {
      observer.onComplete(internalError(label_ + " threw: " + e.what()), {});
    } catch (...) {
      observer.onComplete(internalError(label_ + " threw a non-standard exception"), {});
    }
  }

  SharedRequestChat* shared_;       // the plugin's, or null
  RebuildingChat* rebuilding_;     // the plugin's, or null
};

class GuardedTool final : public GuardBase<Tool> {
 public:
  using GuardBase::GuardBase;
  ToolDefinition definition() const override { return inner_->definition(); }
  bool blocking() const override { return inner_->blocking(); }
  void invoke(Json arguments, std::shared_ptr<ToolContext> context, ToolDone done) override {
    Once<ToolDone> once(std::move(done));
    try {
      inner_->invoke(std::move(arguments), std::move(context), [once](Result<Json> r) { once(std::move(r)); });
    } catch (const std::exception& e) {
      once(Result<Json>(internalError(label_ + " threw: " + e.what())));
    } catch (...) {
      once(Result<Json>(internalError(label_ + " threw a non-standard exception")));
    }
  }
};

class GuardedCacheBackend final : public GuardBase<CacheBackend> {
 public:
  using GuardBase::GuardBase;
  Result<std::optional<std::string>> get(std::string_view key) override {
    return guardedCall(label_, [&] { return inner_->get(key); });
  }
  Status set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) override {
    return guardedCall(label_, [&] { return inner_->set(key, value, ttl); });
  }
  Status erase(std::string_view key) override {
    return guardedCall(label_, [&] { return inner_->erase(key); });
  }
  Status erasePrefix(std::string_view prefix) override {
    return guardedCall(label_, [&] { return inner_->erasePrefix(prefix); });
  }
};

// A store's checkpointer, guarded as its store (the graph runtime calls it on
// its workers and its checkpoint writer). The text saver is the plugin's when
// it has one, else a plain save of the same checkpoint: a run's handed-over
// last checkpoint comes without its state (the text has it), so the state is
// read back from the text for that save.
class GuardedCheckpointer final : public Checkpointer, public CheckpointTextSaver {
 public:
  GuardedCheckpointer(std::shared_ptr<Checkpointer> inner, std::string label)
      : inner_(std::move(inner)), textSaver_(dynamic_cast<CheckpointTextSaver*>(inner_.get())), label_(std::move(label)) {}
  Status save(const Checkpoint& c) override { return guardedCall(label_, [&] { return inner_->save(c); }); }
  Status saveText(const Checkpoint& c, const std::string& text) override {
    if (textSaver_ != nullptr) return guardedCall(label_, [&] { return textSaver_->saveText(c, text); });
    if (!c.state.is_null()) return save(c);
    std::string error;
    Json written = parseJson(text, &error);
    auto state = written.is_object() ? written.find("state") : written.end();
    if (written.is_discarded() || state == written.end()) {
      return internalError(label_ + ": the checkpoint of run " + c.runId + " came without its state, and its text holds none (" +
                           (error.empty() ? "no \"state\" member" : error) + ")");
    }
    Checkpoint whole = c;
    whole.state = std::move(*state);
    return save(whole);
  }
  Status saveWrite(const PendingWrite& w) override { return guardedCall(label_, [&] { return inner_->saveWrite(w); }); }
  Result<Checkpoint> latest(std::string_view t, std::string_view r) override {
    return guardedCall(label_, [&] { return inner_->latest(t, r); });
  }
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view t, std::string_view r, int64_t step) override {
    return guardedCall(label_, [&] { return inner_->pendingWrites(t, r, step); });
  }
  Result<std::vector<Checkpoint>> history(std::string_view t) override {
    return guardedCall(label_, [&] { return inner_->history(t); });
  }
  Status deleteThread(std::string_view t) override { return guardedCall(label_, [&] { return inner_->deleteThread(t); }); }

 private:
  std::shared_ptr<Checkpointer> inner_;
  CheckpointTextSaver* textSaver_;  // inner_ as a CheckpointTextSaver, if it is one
  std::string label_;
};

// Also a RunRecordStore, a RunCheckpointStore and a RunBatchStore: forwards
// to the plugin's when it has one, and answers Unimplemented when not (the
// caller then saves part by part, the checkpoint apart, or run by run).
class GuardedStore final : public GuardBase<Store>, public RunRecordStore, public RunCheckpointStore, public RunBatchStore {
 public:
  GuardedStore(std::shared_ptr<Store> inner, std::string label)
      : GuardBase(std::move(inner), std::move(label)),
        runs_(dynamic_cast<RunRecordStore*>(inner_.get())),
        runsWithCheckpoints_(dynamic_cast<RunCheckpointStore*>(inner_.get())),
        batches_(dynamic_cast<RunBatchStore*>(inner_.get())) {}
  // A throw, or an answer that is not one status per run, is every run's failure.
  std::vector<Status> saveRuns(const std::vector<RunSave>& runs) override {
    if (batches_ == nullptr) return std::vector<Status>(runs.size(), unimplementedError("the store saves runs one by one"));
    Status failed = Status::ok();
    try {
      std::vector<Status> saved = batches_->saveRuns(runs);
      if (saved.size() == runs.size()) return saved;
      failed = internalError(label_ + " answered " + std::to_string(saved.size()) + " statuses for a batch of " +
                             std::to_string(runs.size()) + " runs");
    } catch (const std::exception& e) {
      failed = internalError(label_ + " threw: " + e.what());
    } catch (...) {
      failed = internalError(label_ + " threw a non-standard exception");
    }
    return std::vector<Status>(runs.size(), failed);
  }
  Result<int64_t> beginTurn(const ConversationRecord& c, const MessageRecord& m) override {
    if (runs_ == nullptr) return unimplementedError("the store saves turns part by part");
    return guardedCall(label_, [&] { return runs_->beginTurn(c, m); });
  }
  Status saveRun(const RunRecord& run) override {
    if (runs_ == nullptr) return unimplementedError("the store saves runs part by part");
    return guardedCall(label_, [&] { return runs_->saveRun(run); });
  }
  Status saveRunWithCheckpoint(const RunRecord& run, const Checkpoint& checkpoint, const std::string& text) override {
    if (runsWithCheckpoints_ == nullptr) return unimplementedError("the store saves a run's checkpoint apart");
    return guardedCall(label_, [&] { return runsWithCheckpoints_->saveRunWithCheckpoint(run, checkpoint, text); });
  }
  std::string backendName() const override { return inner_->backendName(); }
  int embeddingDimensions() const override { return inner_->embeddingDimensions(); }
  Status putResource(const ResourceRecord& r, const std::vector<ChunkRecord>& c) override {
    return guardedCall(label_, [&] { return inner_->putResource(r, c); });
  }
  Result<std::vector<ResourceRecord>> listResources(std::string_view u, Page p) override {
    return guardedCall(label_, [&] { return inner_->listResources(u, p); });
  }
  Result<ResourceRecord> getResource(std::string_view u, std::string_view id) override {
    return guardedCall(label_, [&] { return inner_->getResource(u, id); });
  }
  Status deleteResource(std::string_view u, std::string_view id) override {
    return guardedCall(label_, [&] { return inner_->deleteResource(u, id); });
  }
  Result<std::vector<SearchHit>> searchText(const SearchQuery& q) override {
    return guardedCall(label_, [&] { return inner_->searchText(q); });
  }
  Result<std::vector<SearchHit>> searchVector(const SearchQuery& q) override {
    return guardedCall(label_, [&] { return inner_->searchVector(q); });
  }
  Result<std::vector<CanonEntry>> listCanon(std::string_view u, std::string_view t) override {
    return guardedCall(label_, [&] { return inner_->listCanon(u, t); });
  }
  Status putCanon(const CanonEntry& e) override { return guardedCall(label_, [&] { return inner_->putCanon(e); }); }
  Status deleteCanon(std::string_view u, std::string_view t, std::string_view c, std::string_view id) override {
    return guardedCall(label_, [&] { return inner_->deleteCanon(u, t, c, id); });
  }
  Status putConversation(const ConversationRecord& c) override {
    return guardedCall(label_, [&] { return inner_->putConversation(c); });
  }
  Result<ConversationRecord> getConversation(std::string_view u, std::string_view id) override {
    return guardedCall(label_, [&] { return inner_->getConversation(u, id); });
  }
  Result<std::vector<ConversationRecord>> listConversations(std::string_view u, Page p) override {
    return guardedCall(label_, [&] { return inner_->listConversations(u, p); });
  }
  Status deleteConversation(std::string_view u, std::string_view id) override {
    return guardedCall(label_, [&] { return inner_->deleteConversation(u, id); });
  }
  Status appendMessage(const MessageRecord& m) override { return guardedCall(label_, [&] { return inner_->appendMessage(m); }); }
  Result<std::vector<MessageRecord>> listMessages(std::string_view u, std::string_view c) override {
    return guardedCall(label_, [&] { return inner_->listMessages(u, c); });
  }
  Status putArtifact(const ArtifactRecord& a) override { return guardedCall(label_, [&] { return inner_->putArtifact(a); }); }
  Result<ArtifactRecord> getArtifact(std::string_view u, std::string_view id) override {
    return guardedCall(label_, [&] { return inner_->getArtifact(u, id); });
  }
  Result<std::vector<ArtifactRecord>> listArtifacts(std::string_view u, std::string_view c) override {
    return guardedCall(label_, [&] { return inner_->listArtifacts(u, c); });
  }
  Status appendRunEvents(std::string_view u, std::string_view c, std::string_view r, const std::vector<RunEvent>& e) override {
    return guardedCall(label_, [&] { return inner_->appendRunEvents(u, c, r, e); });
  }
  Result<std::vector<RunEvent>> runEvents(std::string_view u, std::string_view r, int64_t after) override {
    return guardedCall(label_, [&] { return inner_->runEvents(u, r, after); });
  }
  std::shared_ptr<Checkpointer> checkpointer() override {
    auto inner = inner_->checkpointer();
    return inner ? std::make_shared<GuardedCheckpointer>(std::move(inner), label_ + " checkpointer") : nullptr;
  }
 private:
  RunRecordStore* runs_;  // the inner store as a RunRecordStore, if it is one
  RunCheckpointStore* runsWithCheckpoints_;  // and as a RunCheckpointStore
  RunBatchStore* batches_;  // and as a RunBatchStore
};

class GuardedEmbedder final : public GuardBase<Embedder> {
 public:
  using GuardBase::GuardBase;
  std::string modelName() const override { return inner_->modelName(); }
  int dimensions() const override { return inner_->dimensions(); }
  Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& texts,
                                                CancellationToken cancel) override {
    return guardedCall(label_, [&] { return inner_->embed(texts, std::move(cancel)); });
  }
};

class GuardedTracer final : public GuardBase<Tracer> {
 public:
  using GuardBase::GuardBase;
  std::string startSpan(const SpanStart& span) override {
    try {
      return inner_->startSpan(span);
    } catch (...) {
      return {};
    }
  }
  void endSpan(std::string_view spanId, const Json& outputs, const Status& status) override {
    try {
      inner_->endSpan(spanId, outputs, status);
    } catch (...) {  // tracing must never break a run
    }
  }
};

class GuardedNode final : public GuardBase<Node> {
 public:
  using GuardBase::GuardBase;
  void run(std::shared_ptr<NodeContext> context, NodeDone done) override {
    Once<NodeDone> once(std::move(done));
    try {
      inner_->run(std::move(context), [once](Result<Json> r) { once(std::move(r)); });
    } catch (const std::exception& e) {
      once(Result<Json>(internalError(label_ + " threw: " + e.what())));
    } catch (...) {
      once(Result<Json>(internalError(label_ + " threw a non-standard exception")));
    }
  }
};

class GuardedRouter final : public GuardBase<Router> {
 public:
  using GuardBase::GuardBase;
  Result<std::vector<std::string>> route(const Json& state) override {
    return guardedCall(label_, [&] { return inner_->route(state); });
  }
};

}  // namespace

std::shared_ptr<ModelProvider> guard(std::shared_ptr<ModelProvider> o, std::string l) {
  return std::make_shared<GuardedModelProvider>(std::move(o), std::move(l));
}
std::shared_ptr<Tool> guard(std::shared_ptr<Tool> o, std::string l) {
  return std::make_shared<GuardedTool>(std::move(o), std::move(l));
}
std::shared_ptr<CacheBackend> guard(std::shared_ptr<CacheBackend> o, std::string l) {
  return std::make_shared<GuardedCacheBackend>(std::move(o), std::move(l));
}
std::shared_ptr<Store> guard(std::shared_ptr<Store> o, std::string l) {
  return std::make_shared<GuardedStore>(std::move(o), std::move(l));
}
std::shared_ptr<Embedder> guard(std::shared_ptr<Embedder> o, std::string l) {
  return std::make_shared<GuardedEmbedder>(std::move(o), std::move(l));
}
std::shared_ptr<Tracer> guard(std::shared_ptr<Tracer> o, std::string l) {
  return std::make_shared<GuardedTracer>(std::move(o), std::move(l));
}
std::shared_ptr<Node> guard(std::shared_ptr<Node> o, std::string l) {
  return std::make_shared<GuardedNode>(std::move(o), std::move(l));
}
std::shared_ptr<Router> guard(std::shared_ptr<Router> o, std::string l) {
  return std::make_shared<GuardedRouter>(std::move(o), std::move(l));
}

}  // namespace mx::host
