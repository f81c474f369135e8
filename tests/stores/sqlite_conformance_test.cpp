// store_sqlite against the store conformance suite.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "chat/run_saving.hpp"
#include "graph/checkpointers.hpp"
#include "process.hpp"
#include "runtime/guards.hpp"
#include "chat/run_manager.hpp"
#include "graph_support.hpp"
#include "mx/testing/fakes.hpp"
#include "sqlite_db.hpp"
#include "sqlite_store.hpp"
#include "store_conformance.hpp"

namespace mx::test {
namespace {

std::shared_ptr<Store> makeSqlite() {
  static int counter = 0;
  static TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/store-" + std::to_string(++counter) + ".db";
  config.dimensions = 16;
  auto store = sqlite::SqliteStore::open(config);
  EXPECT_TRUE(store.isOk()) << store.status().toString();
  return std::shared_ptr<Store>(std::move(*store));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(NamedStoreFactory{"sqlite", makeSqlite}),
                         [](const auto& param) { return param.param.name; });

TEST(SqliteStore, VectorsSurviveAReopen) {
  TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/reopen.db";
  config.dimensions = 4;
  {
    auto store = sqlite::SqliteStore::open(config);
    ASSERT_TRUE((*store)->putResource({"r", "u", "T", "handbook", "text", "", 0, "m", 1},
                                      {{"c", "r", 0, "", "hello world", {0, 1, 0, 0}}}).isOk());
  }
  auto store = sqlite::SqliteStore::open(config);
  auto hits = (*store)->searchVector({"u", "", {0, 1, 0, 0}, 1, {}, {}});
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].chunkId, "c");
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-5);
}

// A database of schema version 1 kept a row per run event: they move into
// batches, and a replay reads them as before; an unreadable batch is DataLoss.
TEST(SqliteStore, RunEventRowsOfAnOlderSchemaMoveIntoBatches) {
  TempDir dir;
  sqlite::StoreConfig config;
  config.path = dir.path() + "/old.db";
  config.dimensions = 4;
  ASSERT_TRUE(sqlite::SqliteStore::open(config).isOk());
  {
    auto connection = sqlite::Connection::open(config.path, 100);
    ASSERT_TRUE(connection.isOk());
    ASSERT_TRUE((*connection)->execScript(R"SQL(
DROP TABLE run_event_batches;
CREATE TABLE run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  event TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq));
INSERT INTO run_events VALUES ('run1', 2, 'alice', 'c1', 'done', '{}'), ('run1', 1, 'alice', 'c1', 'message', 'café "q"'),
  ('run2', 1, 'bob', 'c2', 'thinking', '{}');
PRAGMA user_version = 1;
)SQL").isOk());
  }
  auto store = sqlite::SqliteStore::open(config);
  ASSERT_TRUE(store.isOk()) << store.status().toString();
  auto events = (*store)->runEvents("alice", "run1", 0);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].data, "caf\xC3\xA9 \"q\"");
  EXPECT_EQ((*events)[1].event, "done");
  EXPECT_EQ((*store)->runEvents("bob", "run2", 0)->size(), 1u);
  {
    auto connection = sqlite::Connection::open(config.path, 100);
    ASSERT_TRUE((*connection)->exec("INSERT INTO run_event_batches VALUES ('run3', 1, 2, 'alice', 'c1', '[[1,')").isOk());
  }
  auto broken = (*store)->runEvents("alice", "run3", 0);
  EXPECT_EQ(broken.status().code(), Code::DataLoss);
  EXPECT_NE(broken.status().message().find("run3"), std::string::npos) << broken.status().message();
}

// A store of a plugin built before RunRecordStore: every call forwards to a
// real store, and saving a run goes part by part.
class PlainStore : public Store {
 public:
  explicit PlainStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  std::string backendName() const override { return inner_->backendName(); }
  int embeddingDimensions() const override { return inner_->embeddingDimensions(); }
  Status putResource(const ResourceRecord& r, const std::vector<ChunkRecord>& c) override { return inner_->putResource(r, c); }
  Result<std::vector<ResourceRecord>> listResources(std::string_view u, Page p) override { return inner_->listResources(u, p); }
  Result<ResourceRecord> getResource(std::string_view u, std::string_view id) override { return inner_->getResource(u, id); }
  Status deleteResource(std::string_view u, std::string_view id) override { return inner_->deleteResource(u, id); }
  Result<std::vector<SearchHit>> searchText(const SearchQuery& q) override { return inner_->searchText(q); }
  Result<std::vector<SearchHit>> searchVector(const SearchQuery& q) override { return inner_->searchVector(q); }
  Result<std::vector<CanonEntry>> listCanon(std::string_view u, std::string_view t) override { return inner_->listCanon(u, t); }
  Status putCanon(const CanonEntry& e) override { return inner_->putCanon(e); }
  Status deleteCanon(std::string_view u, std::string_view t, std::string_view c, std::string_view id) override {
    return inner_->deleteCanon(u, t, c, id);
  }
  Status putConversation(const ConversationRecord& c) override { return inner_->putConversation(c); }
  Result<ConversationRecord> getConversation(std::string_view u, std::string_view id) override { return inner_->getConversation(u, id); }
  Result<std::vector<ConversationRecord>> listConversations(std::string_view u, Page p) override { return inner_->listConversations(u, p); }
  Status deleteConversation(std::string_view u, std::string_view id) override { return inner_->deleteConversation(u, id); }
  Status appendMessage(const MessageRecord& m) override { return inner_->appendMessage(m); }
  Result<std::vector<MessageRecord>> listMessages(std::string_view u, std::string_view c) override { return inner_->listMessages(u, c); }
  Status putArtifact(const ArtifactRecord& a) override { return inner_->putArtifact(a); }
  Result<ArtifactRecord> getArtifact(std::string_view u, std::string_view id) override { return inner_->getArtifact(u, id); }
  Result<std::vector<ArtifactRecord>> listArtifacts(std::string_view u, std::string_view c) override { return inner_->listArtifacts(u, c); }
  Status appendRunEvents(std::string_view u, std::string_view c, std::string_view r, const std::vector<RunEvent>& e) override {
    return inner_->appendRunEvents(u, c, r, e);
  }
  Result<std::vector<RunEvent>> runEvents(std::string_view u, std::string_view r, int64_t after) override {
    return inner_->runEvents(u, r, after);
  }
  std::shared_ptr<Checkpointer> checkpointer() override { return inner_->checkpointer(); }

 private:
  std::shared_ptr<Store> inner_;
};

class ThrowingRunStore final : public PlainStore, public RunRecordStore {
 public:
  using PlainStore::PlainStore;
  Result<int64_t> beginTurn(const ConversationRecord&, const MessageRecord&) override { throw std::runtime_error("boom"); }
  Status saveRun(const RunRecord&) override { throw std::runtime_error("boom"); }
};

RunRecord sampleRun() {
  RunRecord run{"alice", "c1", "run1", {}, std::nullopt, 20, runEventBatch({{1, "thinking", "{}"}, {2, "done", "{}"}})};
  run.artifacts.push_back({"a1", "c1", "alice", "run1", "email", "Subject: Hi", 2, "complete", Json::object(), 15});
  run.assistantMessage = MessageRecord{"m2", "c1", "alice", "assistant", "Done", "run1", Json::object(), 19};
  return run;
}

TEST(RunSaving, AStoreWithoutRunRecordStoreSavesPartByPartBehindTheGuard) {
  auto sqlite = makeSqlite();
  ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
  auto guarded = host::guard(std::make_shared<PlainStore>(sqlite), "store \"plain\"");
  auto count = host::chat::beginTurn(*guarded, *sqlite->getConversation("alice", "c1"),
                                     {"m1", "c1", "alice", "user", "Create an email", "run1", Json::object(), 12});
  ASSERT_TRUE(count.isOk()) << count.status().toString();
  EXPECT_EQ(*count, 2);
  EXPECT_EQ(sqlite->getConversation("alice", "c1")->messageCount, 2);
  ASSERT_TRUE(host::chat::saveRun(*guarded, sampleRun()).isOk());
  EXPECT_EQ(sqlite->getConversation("alice", "c1")->messageCount, 3);
  EXPECT_EQ(sqlite->getConversation("alice", "c1")->updatedAtMs, 20);
  EXPECT_EQ(sqlite->getArtifact("alice", "a1")->content, "Subject: Hi");
  EXPECT_EQ(sqlite->listMessages("alice", "c1")->size(), 2u);
  EXPECT_EQ(sqlite->runEvents("alice", "run1", 0)->size(), 2u);
  // Part by part, a conversation that is gone is reported; what could be saved is.
  RunRecord orphan = sampleRun();
  orphan.conversationId = "gone";
  orphan.runId = "run2";
  orphan.assistantMessage.reset();
  EXPECT_EQ(host::chat::saveRun(*guarded, orphan).code(), Code::NotFound);
}

TEST(RunSaving, AThrowingSaveRunBecomesAnErrorNamingTheStore) {
  auto sqlite = makeSqlite();
  ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
  auto guarded = host::guard(std::make_shared<ThrowingRunStore>(sqlite), "store \"thrower\"");
  auto begun = host::chat::beginTurn(*guarded, {"c1", "alice", "Sale", 1, 10, 10}, {"m1", "c1", "alice", "user", "hi", "run1", {}, 12});
  EXPECT_EQ(begun.status().code(), Code::Internal);
  EXPECT_NE(begun.status().message().find("thrower"), std::string::npos) << begun.status().message();
  Status saved = host::chat::saveRun(*guarded, sampleRun());
  EXPECT_EQ(saved.code(), Code::Internal);
  EXPECT_NE(saved.message().find("thrower"), std::string::npos) << saved.message();
  EXPECT_NE(saved.message().find("boom"), std::string::npos) << saved.message();
}

// Group commit behind the guard: a store without RunBatchStore answers
// Unimplemented for each run (the host then saves them one by one); a batch
// store that throws, or answers a status count that is not the batch's, fails
// every run of the batch with an error naming the store.
class BatchStore final : public PlainStore, public RunBatchStore {
 public:
  enum class Fault { Throws, Miscounts };
  BatchStore(std::shared_ptr<Store> inner, Fault fault) : PlainStore(std::move(inner)), fault_(fault) {}
  std::vector<Status> saveRuns(const std::vector<RunSave>&) override {
    if (fault_ == Fault::Throws) throw std::runtime_error("boom");
    return {Status::ok()};
  }

 private:
  Fault fault_;
};

TEST(RunSaving, ABatchOfRunsBehindTheGuardIsSavedByTheStoreOrFailsEveryRunNamingIt) {
  auto sqlite = makeSqlite();
  RunRecord one = sampleRun(), two = sampleRun();
  two.runId = "run2";
  std::vector<RunSave> runs = {{&one}, {&two}};
  auto plain = host::guard(std::make_shared<PlainStore>(sqlite), "store \"plain\"");
  for (const Status& status : dynamic_cast<RunBatchStore&>(*plain).saveRuns(runs)) EXPECT_EQ(status.code(), Code::Unimplemented);
  // A faulty store behind the guard: Internal for each of the two runs, saying what went wrong.
  auto expectEveryRunInternal = [&](BatchStore::Fault fault, const std::string& name, const std::string& says) {
    auto guarded = host::guard(std::make_shared<BatchStore>(sqlite, fault), name);
    auto statuses = dynamic_cast<RunBatchStore&>(*guarded).saveRuns(runs);
    ASSERT_EQ(statuses.size(), 2u) << name;
    for (const Status& status : statuses) {
      EXPECT_EQ(status.code(), Code::Internal) << name;
      EXPECT_NE(status.message().find(says), std::string::npos) << status.message();
    }
  };
  expectEveryRunInternal(BatchStore::Fault::Throws, "store \"thrower\"", "store \"thrower\" threw: boom");
  expectEveryRunInternal(BatchStore::Fault::Miscounts, "store \"short\"", "answered 1 statuses for a batch of 2 runs");
}

// A checkpointer of a plugin built before CheckpointTextSaver, or one that throws.
class PlainCheckpointer final : public Checkpointer {
 public:
  PlainCheckpointer(std::shared_ptr<Checkpointer> inner, bool throws) : inner_(std::move(inner)), throws_(throws) {}
  Status save(const Checkpoint& c) override { return throws_ ? throw std::runtime_error("disk on fire") : inner_->save(c); }
  Status saveWrite(const PendingWrite& w) override { return throws_ ? throw std::runtime_error("disk on fire") : inner_->saveWrite(w); }
  Result<Checkpoint> latest(std::string_view t, std::string_view r) override {
    if (throws_) throw std::runtime_error("disk on fire");
    return inner_->latest(t, r);
  }
  Result<std::vector<PendingWrite>> pendingWrites(std::string_view t, std::string_view r, int64_t step) override {
    if (throws_) throw std::runtime_error("disk on fire");
    return inner_->pendingWrites(t, r, step);
  }
  Result<std::vector<Checkpoint>> history(std::string_view t) override {
    if (throws_) throw std::runtime_error("disk on fire");
    return inner_->history(t);
  }
  Status deleteThread(std::string_view t) override { return throws_ ? throw std::runtime_error("disk on fire") : inner_->deleteThread(t); }

 private:
  std::shared_ptr<Checkpointer> inner_;
  bool throws_;
};

class StoreWithCheckpointer final : public PlainStore {
 public:
  StoreWithCheckpointer(std::shared_ptr<Store> inner, std::shared_ptr<Checkpointer> checkpointer)
      : PlainStore(std::move(inner)), checkpointer_(std::move(checkpointer)) {}
  std::shared_ptr<Checkpointer> checkpointer() override { return checkpointer_; }

 private:
  std::shared_ptr<Checkpointer> checkpointer_;
};

Checkpoint finalCheckpoint(const std::string& thread) {
  Checkpoint c;
  c.threadId = thread;
  c.runId = "run1";
  c.step = 4;
  c.status = "completed";
  c.state = {{"messages", Json::array({{{"role", "user"}, {"content", "caf\u00e9 \"q\""}}})}};
  c.createdAtMs = 30;
  return c;
}

TEST(Checkpoints, TheStoresCheckpointerIsGuardedAndSavesTheRuntimesText) {
  auto sqlite = makeSqlite();
  auto checkpointer = host::guard(std::shared_ptr<Store>(sqlite), "store \"main\"")->checkpointer();
  auto* textSaver = dynamic_cast<CheckpointTextSaver*>(checkpointer.get());
  ASSERT_NE(textSaver, nullptr);
  Checkpoint c = finalCheckpoint("t1");
  ASSERT_TRUE(textSaver->saveText(c, checkpointText(c)).isOk());
  auto latest = sqlite->checkpointer()->latest("t1", "run1");
  ASSERT_TRUE(latest.isOk()) << latest.status().toString();
  EXPECT_EQ(latest->state, c.state);
  EXPECT_EQ(latest->status, "completed");
  // A plugin's checkpointer without the text saver gets a plain save of the same checkpoint.
  auto plain = host::guard(std::make_shared<StoreWithCheckpointer>(sqlite, std::make_shared<PlainCheckpointer>(sqlite->checkpointer(), false)),
                           "store \"old\"")->checkpointer();
  ASSERT_TRUE(dynamic_cast<CheckpointTextSaver*>(plain.get())->saveText(finalCheckpoint("t2"), "not used").isOk());
  EXPECT_EQ(sqlite->checkpointer()->latest("t2", "run1")->state, c.state);
  // A checkpoint handed over without its state takes it from the text; a text without one is an error
  // naming the checkpointer and the run, and nothing is saved.
  Checkpoint bare = finalCheckpoint("t3");
  bare.state = Json();
  for (const std::string& text : {std::string("{\"threadId\":"), std::string("{\"threadId\":\"t3\"}")}) {
    Status refused = dynamic_cast<CheckpointTextSaver*>(plain.get())->saveText(bare, text);
    EXPECT_EQ(refused.code(), Code::Internal);
    EXPECT_NE(refused.message().find("store \"old\" checkpointer"), std::string::npos) << refused.message();
    EXPECT_NE(refused.message().find("run1"), std::string::npos) << refused.message();
  }
  EXPECT_EQ(sqlite->checkpointer()->latest("t3", "run1").status().code(), Code::NotFound);
  ASSERT_TRUE(dynamic_cast<CheckpointTextSaver*>(plain.get())->saveText(bare, checkpointText(finalCheckpoint("t3"))).isOk());
  EXPECT_EQ(sqlite->checkpointer()->latest("t3", "run1")->state, c.state);
  // A throwing one: every call is an error naming the store's checkpointer, nothing escapes.
  auto throwing = host::guard(std::make_shared<StoreWithCheckpointer>(sqlite, std::make_shared<PlainCheckpointer>(sqlite->checkpointer(), true)),
                              "store \"thrower\"")->checkpointer();
  for (const Status& status : {throwing->save(c), dynamic_cast<CheckpointTextSaver*>(throwing.get())->saveText(c, checkpointText(c)),
                               throwing->saveWrite({"t1", "run1", 5, "model", Json::object()}), throwing->latest("t1", "run1").status(),
                               throwing->pendingWrites("t1", "run1", 5).status(), throwing->history("t1").status(),
                               throwing->deleteThread("t1")}) {
    EXPECT_EQ(status.code(), Code::Internal);
    EXPECT_NE(status.message().find("store \"thrower\" checkpointer threw: disk on fire"), std::string::npos) << status.message();
  }
}

// A run's last checkpoint, handed over by the graph runtime, goes with the
// run's records when the store keeps the checkpoints and can; else apart,
// through the checkpointer, before the run.
TEST(RunSaving, ARunsLastCheckpointIsSavedWithItOrApart) {
  Checkpoint whole = finalCheckpoint("c1");
  host::FinalCheckpoint handed;
  handed.checkpoint = whole;
  handed.checkpoint.state = Json();
  handed.text = checkpointText(whole, &handed.stateAt, &handed.stateLength);
  auto savedIn = [&](const std::shared_ptr<Store>& store, Checkpointer& checkpointer, bool keptByStore) {
    host::chat::CheckpointSaving saving;
    Status saved = host::chat::saveRun(*store, sampleRun(), handed, whole.state, {checkpointer, keptByStore}, saving);
    EXPECT_TRUE(saved.isOk()) << saved.toString();
    EXPECT_TRUE(saving.apart.isOk()) << saving.apart.toString();
    return saving.together;
  };
  {  // The store's own checkpointer: one transaction.
    auto sqlite = makeSqlite();
    ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
    auto guarded = host::guard(std::shared_ptr<Store>(sqlite), "store \"main\"");
    EXPECT_TRUE(savedIn(guarded, *guarded->checkpointer(), true));
    EXPECT_EQ(sqlite->checkpointer()->latest("c1", "run1")->state, whole.state);
    EXPECT_EQ(sqlite->getConversation("alice", "c1")->messageCount, 2);
    // Gone or another user's: NotFound, neither saved.
    host::chat::CheckpointSaving saving;
    RunRecord intruder = sampleRun();
    intruder.userId = "bob";
    intruder.runId = "run9";
    handed.checkpoint.runId = "run9";
    EXPECT_EQ(host::chat::saveRun(*guarded, intruder, handed, whole.state, {*guarded->checkpointer(), true}, saving).code(),
              Code::NotFound);
    EXPECT_TRUE(saving.together);
    EXPECT_EQ(sqlite->checkpointer()->latest("c1", "run9").status().code(), Code::NotFound);
    handed.checkpoint.runId = "run1";
  }
  {  // A plugin's store without RunCheckpointStore: the guard says so, and the checkpoint goes apart.
    auto sqlite = makeSqlite();
    ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
    auto guarded = host::guard(std::make_shared<PlainStore>(sqlite), "store \"plain\"");
    auto* runs = dynamic_cast<RunCheckpointStore*>(guarded.get());
    ASSERT_NE(runs, nullptr);
    EXPECT_EQ(runs->saveRunWithCheckpoint(sampleRun(), handed.checkpoint, handed.text).code(), Code::Unimplemented);
    EXPECT_FALSE(savedIn(guarded, *guarded->checkpointer(), true));
    EXPECT_EQ(sqlite->checkpointer()->latest("c1", "run1")->state, whole.state);
    EXPECT_EQ(sqlite->getConversation("alice", "c1")->messageCount, 2);
  }
  {  // A plugin's checkpointer without saveText: the handed checkpoint comes without its state, and the
     // guard reads the state back from the text for the plain save.
    auto sqlite = makeSqlite();
    ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
    auto old = host::guard(std::make_shared<StoreWithCheckpointer>(sqlite, std::make_shared<PlainCheckpointer>(sqlite->checkpointer(), false)),
                           "store \"old\"");
    EXPECT_FALSE(savedIn(old, *old->checkpointer(), true));
    auto latest = sqlite->checkpointer()->latest("c1", "run1");
    ASSERT_TRUE(latest.isOk()) << latest.status().toString();
    EXPECT_EQ(latest->state, whole.state);
    EXPECT_EQ(latest->step, whole.step);
    EXPECT_EQ(sqlite->getConversation("alice", "c1")->messageCount, 2);
  }
  {  // Checkpoints kept elsewhere (the built-in memory checkpointer keeps the state as a tree).
    auto sqlite = makeSqlite();
    ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
    host::MemoryCheckpointer memory(5);
    EXPECT_FALSE(savedIn(host::guard(std::shared_ptr<Store>(sqlite), "store \"main\""), memory, false));
    EXPECT_EQ(memory.latest("c1", "run1")->state, whole.state);
    EXPECT_EQ(sqlite->checkpointer()->latest("c1", "run1").status().code(), Code::NotFound);
  }
  {  // A checkpointer that fails apart: reported as the checkpoint's, and the run is still saved.
    auto sqlite = makeSqlite();
    ASSERT_TRUE(sqlite->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
    auto guarded = host::guard(std::shared_ptr<Store>(sqlite), "store \"main\"");
    auto throwing = host::guard(std::make_shared<StoreWithCheckpointer>(sqlite, std::make_shared<PlainCheckpointer>(sqlite->checkpointer(), true)),
                                "store \"thrower\"")->checkpointer();
    host::chat::CheckpointSaving saving;
    Status saved = host::chat::saveRun(*guarded, sampleRun(), handed, whole.state, {*throwing, false}, saving);
    EXPECT_TRUE(saved.isOk()) << saved.toString();
    EXPECT_FALSE(saving.together);
    EXPECT_EQ(saving.apart.code(), Code::Internal);
    EXPECT_NE(saving.apart.message().find("disk on fire"), std::string::npos) << saving.apart.message();
    EXPECT_EQ(sqlite->getConversation("alice", "c1")->messageCount, 2);
  }
}

// A chat graph of one node, "a" (its TOML lines: `node`), and the end.
LoadedGraph oneNodeChatGraph(const TempDir& dir, const std::string& node) {
  return loadGraphDeployment(dir, "[graph]\nentry = \"a\"\n[channels.messages]\nreducer = \"append\"\ndefault = []\n[nodes.a]\n" +
                                      node + "\n[[edges]]\nfrom = \"a\"\nto = \"__end__\"\n");
}

// Chat settings for that graph ("g"), with a limit of turns in progress (0: none).
host::chat::ChatSettings chatOnGraphG(size_t maxLiveRuns = 0) {
  host::chat::ChatSettings settings;
  settings.graph = "g";
  settings.maxLiveRuns = maxLiveRuns;
  return settings;
}

// A turn beyond [chat] max_live_runs is refused at once (Unavailable, naming
// the limit) instead of starting; a finished run gives its place back, and so
// does a turn that failed to start.
TEST(RunManagerAdmission, TurnsBeyondTheLimitAreRefusedUntilAPlaceIsFree) {
  TempDir dir;
  auto g = oneNodeChatGraph(dir, R"(kind = "test.wait")");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  host::chat::ChatSettings settings = chatOnGraphG(1);
  host::chat::RunManager runs(*g.deployment, settings, makeSqlite(), std::make_shared<testing::RecordingLogger>());
  host::chat::TurnRequest turn{"alice", "", "Create an email", nullptr, nullptr};
  host::chat::TurnRequest unknownConversation{"alice", "conv_missing", "Create an email", nullptr, nullptr};

  auto first = runs.startTurn(turn);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  auto second = runs.startTurn(turn);
  EXPECT_EQ(second.status().code(), Code::Unavailable);
  EXPECT_NE(second.status().message().find("limit of 1 turns in progress"), std::string::npos) << second.status().message();
  EXPECT_EQ(runs.refusedTurns(), 1u);
  EXPECT_EQ(runs.activeRuns(), 1u);
  EXPECT_EQ(runs.refuseIfFull().code(), Code::Unavailable);  // the HTTP handler's look before any work
  EXPECT_EQ(runs.refusedTurns(), 2u);

  ASSERT_TRUE(runs.cancel((*first)->id, "alice").isOk());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(*first)->finished && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE((*first)->finished);

  EXPECT_TRUE(runs.refuseIfFull().isOk());
  EXPECT_EQ(runs.startTurn(unknownConversation).status().code(), Code::NotFound);  // its place is given back
  auto third = runs.startTurn(turn);
  ASSERT_TRUE(third.isOk()) << third.status().toString();
  EXPECT_EQ(runs.refusedTurns(), 2u);
  runs.shutdown(std::chrono::milliseconds(5000));
}

// Near the process's descriptor limit (within a twentieth, as last counted)
// turns are refused too, whatever the limit of turns in progress says.
TEST(RunManagerAdmission, TurnsAreRefusedNearTheDescriptorLimit) {
  TempDir dir;
  auto g = oneNodeChatGraph(dir, R"(kind = "test.wait")");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  std::atomic<size_t> open{900};
  host::chat::ChatSettings settings = chatOnGraphG();
  settings.descriptorLimit = 1000;
  settings.countOpenDescriptors = [&open] { return open.load(); };
  host::chat::RunManager runs(*g.deployment, settings, makeSqlite(), std::make_shared<testing::RecordingLogger>());
  host::chat::TurnRequest turn{"alice", "", "Create an email", nullptr, nullptr};
  runs.countDescriptors();
  auto first = runs.startTurn(turn);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  open = 960;
  runs.countDescriptors();
  auto refused = runs.startTurn(turn);
  EXPECT_EQ(refused.status().code(), Code::Unavailable);
  EXPECT_NE(refused.status().message().find("near its limit of 1000 open descriptors"), std::string::npos) << refused.status().message();
  EXPECT_EQ(runs.refuseIfFull().code(), Code::Unavailable);
  EXPECT_EQ(runs.refusedTurns(), 2u);
  open = 100;
  runs.countDescriptors();
  EXPECT_TRUE(runs.refuseIfFull().isOk());
  runs.shutdown(std::chrono::milliseconds(5000));
}

// A store whose saving of a turn's user message waits until the test lets it.
class SlowTurnStore final : public PlainStore, public RunRecordStore {
 public:
  explicit SlowTurnStore(std::shared_ptr<Store> inner) : PlainStore(inner), runs_(std::dynamic_pointer_cast<RunRecordStore>(inner)) {}
  Result<int64_t> beginTurn(const ConversationRecord& c, const MessageRecord& m) override {
    released_.wait();
    return runs_->beginTurn(c, m);
  }
  Status saveRun(const RunRecord& run) override { return runs_->saveRun(run); }
  void release() { release_.set_value(); }

 private:
  std::shared_ptr<RunRecordStore> runs_;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

bool waitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return done();
}

// The graph does not wait for the user's message to be saved (a store round
// trip, milliseconds to a remote PostgreSQL): its first node runs meanwhile;
// the stream is attached once the message is saved, and the run finishes
// after both, saved as usual.
TEST(RunManagerTurns, TheGraphRunsWhileTheUserMessageIsSaved) {
  TempDir dir;
  std::string record = dir.path() + "/ran";
  auto g = oneNodeChatGraph(dir, "kind = \"test.write\"\nrecord_to = \"" + record +
                                     "\"\nupdate = { messages = [{ role = \"assistant\", content = \"hi\" }] }");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  host::chat::ChatSettings settings = chatOnGraphG();
  auto sqlite = makeSqlite();
  auto slow = std::make_shared<SlowTurnStore>(sqlite);
  host::chat::RunManager runs(*g.deployment, settings, slow, std::make_shared<testing::RecordingLogger>());
  std::atomic<int> attached{0};
  auto run = runs.startTurn({"alice", "", "Create an email", nullptr, nullptr},
                            [&](const std::shared_ptr<host::chat::ActiveRun>&) { ++attached; },
                            [](const Status& refused) { ADD_FAILURE() << refused.toString(); });
  ASSERT_TRUE(run.isOk()) << run.status().toString();
  EXPECT_TRUE(waitFor([&] { return std::ifstream(record).good(); })) << "the node ran before the message was saved";
  EXPECT_EQ(attached, 0);
  EXPECT_FALSE((*run)->finished);
  slow->release();
  ASSERT_TRUE(waitFor([&] { return (*run)->finished.load(); }));
  EXPECT_EQ(attached, 1);
  EXPECT_EQ((*run)->messageCount, 1);
  EXPECT_EQ(sqlite->listMessages("alice", (*run)->conversationId)->size(), 2u);  // the user's and the answer
  auto last = g.deployment->checkpointer()->latest((*run)->conversationId, (*run)->id);  // kept apart from this store
  ASSERT_TRUE(last.isOk()) << last.status().toString();
  EXPECT_EQ(last->status, "completed");
  EXPECT_EQ(last->state["messages"].size(), 2u);
  runs.shutdown(std::chrono::milliseconds(5000));
}

// A turn whose user message cannot be saved is refused with the store's error
// after its graph has started: the run is cancelled and forgotten, nothing
// of it is saved, and its place is given back.
TEST(RunManagerTurns, ATurnWhoseMessageIsNotSavedIsRefusedCancelledAndForgotten) {
  TempDir dir;
  auto g = oneNodeChatGraph(dir, R"(kind = "test.wait")");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  host::chat::ChatSettings settings = chatOnGraphG(1);
  auto sqlite = makeSqlite();
  host::chat::RunManager runs(*g.deployment, settings, host::guard(std::make_shared<ThrowingRunStore>(sqlite), "store \"thrower\""),
                              std::make_shared<testing::RecordingLogger>());
  std::promise<Status> refusal;
  auto run = runs.startTurn({"alice", "", "Create an email", nullptr, nullptr},
                            [](const std::shared_ptr<host::chat::ActiveRun>&) { ADD_FAILURE() << "attached"; },
                            [&](const Status& refused) { refusal.set_value(refused); });
  ASSERT_TRUE(run.isOk()) << run.status().toString();
  auto refused = refusal.get_future();
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  Status status = refused.get();
  EXPECT_EQ(status.code(), Code::Internal);
  EXPECT_NE(status.message().find("thrower"), std::string::npos) << status.message();
  ASSERT_TRUE(waitFor([&] { return (*run)->finished.load(); }));
  EXPECT_TRUE((*run)->cancel.isCancelled());
  EXPECT_EQ(runs.activeRuns(), 0u);
  EXPECT_EQ(runs.runsInMemory(), 0u);
  EXPECT_EQ(runs.find((*run)->id, "alice").status().code(), Code::NotFound);
  EXPECT_TRUE(runs.refuseIfFull().isOk()) << "its place is given back";
  EXPECT_TRUE(sqlite->listConversations("alice", {})->empty());
  // Its last checkpoint, handed over by the runtime, is still saved (apart).
  auto history = g.deployment->checkpointer()->history((*run)->conversationId);
  ASSERT_TRUE(history.isOk()) << history.status().toString();
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->back().status, "cancelled");
  EXPECT_EQ(history->back().runId, (*run)->id);
  runs.shutdown(std::chrono::milliseconds(5000));
}

// A store that keeps a run's messages and artifacts but not its events (the
// last part of a part-by-part save), as a full disk would.
class EventsLostStore final : public PlainStore {
 public:
  using PlainStore::PlainStore;
  Status appendRunEvents(std::string_view, std::string_view, std::string_view, const std::vector<RunEvent>&) override {
    return Status(Code::Unavailable, "the disk is full");
  }
};

// A chat graph whose one node answers "hi".
LoadedGraph answeringChatGraph(const TempDir& dir) {
  return oneNodeChatGraph(dir, "kind = \"test.write\"\nupdate = { messages = [{ role = \"assistant\", content = \"hi\" }] }");
}

// Once the store holds a finished run's events, nothing of it stays in memory:
// a replay reads the store, and so does a cancel, which tells its owner the run
// has finished and anyone else that there is no such run.
TEST(RunManagerReplayWindow, AFinishedRunWhoseEventsAreStoredLeavesNothingInMemory) {
  TempDir dir;
  auto g = answeringChatGraph(dir);
  ASSERT_TRUE(g.deployment) << g.errors[0];
  host::chat::RunManager runs(*g.deployment, chatOnGraphG(), makeSqlite(), std::make_shared<testing::RecordingLogger>());
  auto run = runs.startTurn({"alice", "", "Create an email", nullptr, nullptr});
  ASSERT_TRUE(run.isOk()) << run.status().toString();
  std::string id = (*run)->id;
  ASSERT_TRUE(waitFor([&] { return !runs.find(id, "alice").isOk(); })) << "still in memory as a run";
  EXPECT_TRUE((*run)->log->released());
  EXPECT_TRUE(waitFor([&] { return run->use_count() == 1; })) << "the manager still holds the run";
  EXPECT_EQ(runs.runsInMemory(), 0u);
  EXPECT_EQ(runs.activeRuns(), 0u);
  EXPECT_EQ(runs.cancel(id, "alice").code(), Code::NotFound);  // not in memory: the store decides
  EXPECT_EQ(runs.finishedRunInStore(id, "alice").code(), Code::FailedPrecondition);
  EXPECT_EQ(runs.finishedRunInStore(id, "bob").code(), Code::NotFound);
  EXPECT_EQ(runs.finishedRunInStore("run_unknown", "alice").code(), Code::NotFound);
  runs.shutdown(std::chrono::milliseconds(5000));
}

// A finished run whose events the store did not take keeps them in memory for
// the replay window: a reconnecting client is served from the run's log.
TEST(RunManagerReplayWindow, AFinishedRunWhoseEventsWereNotStoredKeepsThemInMemory) {
  TempDir dir;
  auto g = answeringChatGraph(dir);
  ASSERT_TRUE(g.deployment) << g.errors[0];
  auto logger = std::make_shared<testing::RecordingLogger>();
  host::chat::ChatSettings settings = chatOnGraphG();
  settings.replay = std::chrono::seconds(1);
  host::chat::RunManager runs(*g.deployment, settings, host::guard(std::make_shared<EventsLostStore>(makeSqlite()), "store \"full\""),
                              logger);
  auto run = runs.startTurn({"alice", "", "Create an email", nullptr, nullptr});
  ASSERT_TRUE(run.isOk()) << run.status().toString();
  ASSERT_TRUE(waitFor([&] { return (*run)->finished.load(); }));
  auto found = runs.find((*run)->id, "alice");
  ASSERT_TRUE(found.isOk()) << found.status().toString();
  EXPECT_EQ(*found, *run);
  EXPECT_FALSE((*run)->log->released());
  EXPECT_EQ((*run)->log->events().back().event, "done");
  EXPECT_EQ(runs.cancel((*run)->id, "alice").code(), Code::FailedPrecondition);
  EXPECT_EQ(runs.runsInMemory(), 1u);
  EXPECT_TRUE(logger->contains("the disk is full"));
  ASSERT_TRUE(waitFor([&] { return runs.runsInMemory() == 0; })) << "kept past the replay window";
  EXPECT_EQ(runs.cancel((*run)->id, "alice").code(), Code::NotFound);
  runs.shutdown(std::chrono::milliseconds(5000));
}

// A turn that reaches the run manager once shutdown has begun (it was queued
// for a worker before) is refused, not started on a runtime that is stopping.
TEST(RunManagerShutdown, ATurnAfterShutdownBeganIsRefused) {
  TempDir dir;
  auto g = oneNodeChatGraph(dir, R"(kind = "test.write"
update = { messages = [{ role = "assistant", content = "hi" }] })");
  ASSERT_TRUE(g.deployment) << g.errors[0];
  host::chat::ChatSettings settings = chatOnGraphG();
  host::chat::RunManager runs(*g.deployment, settings, makeSqlite(), std::make_shared<testing::RecordingLogger>());
  host::chat::TurnRequest turn{"alice", "", "Create an email", nullptr, nullptr};
  auto first = runs.startTurn(turn);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  runs.shutdown(std::chrono::milliseconds(5000));
  EXPECT_TRUE((*first)->finished);
  auto late = runs.startTurn(turn);
  EXPECT_EQ(late.status().code(), Code::Unavailable);
  EXPECT_NE(late.status().message().find("shutting down"), std::string::npos) << late.status().message();
}

}  // namespace
}  // namespace mx::test
