#include "store_conformance.hpp"

#include <atomic>
#include <mutex>
#include <random>

namespace mx::test {
namespace {

std::vector<float> vec(int dims, int hot) {
  std::vector<float> v(static_cast<size_t>(dims), 0.01f);
  v[static_cast<size_t>(hot % dims)] = 1.0f;
  return v;
}

ResourceRecord resource(const std::string& id, const std::string& user, const std::string& type, const std::string& content) {
  return {id, user, "Title " + id, type, "markdown", content, 0, "test-embedder", 1000};
}

ChunkRecord chunk(const std::string& id, const std::string& resourceId, int ordinal, const std::string& text,
                  std::vector<float> embedding) {
  return {id, resourceId, ordinal, "Heading", text, std::move(embedding)};
}

Checkpoint checkpointAt(const std::string& thread, const std::string& run, int step, const std::string& status) {
  Checkpoint checkpoint;
  checkpoint.threadId = thread;
  checkpoint.runId = run;
  checkpoint.step = step;
  checkpoint.status = status;
  return checkpoint;
}

// Run1's last checkpoint of thread c1, at step 6.
Checkpoint run1LastCheckpoint() { return checkpointAt("c1", "run1", 6, "completed"); }

// Thread c1 before run1's last checkpoint: 25 of an older run's (past the
// retention of 20) and run1's pending writes at steps 2 and 6.
void seedThreadBeforeRun1(Checkpointer& checkpointer) {
  for (int step = 0; step < 25; ++step) ASSERT_TRUE(checkpointer.save(checkpointAt("c1", "run0", step, "completed")).isOk());
  ASSERT_TRUE(checkpointer.saveWrite({"c1", "run1", 2, "tools", {{"x", 1}}}).isOk());
  ASSERT_TRUE(checkpointer.saveWrite({"c1", "run1", 6, "tools", {{"x", 2}}}).isOk());
}

TEST_P(StoreConformance, ResourcesAreOwnedAndIsolated) {
  int d = store->embeddingDimensions();
  Status put = store->putResource(resource("r1", "alice", "handbook", "Email handbook"),
                                  {chunk("r1-0", "r1", 0, "Subject lines should be short", vec(d, 1))});
  ASSERT_TRUE(put.isOk()) << put.toString();
  ASSERT_TRUE(store->putResource(resource("r2", "bob", "handbook", "Bob's"), {chunk("r2-0", "r2", 0, "Bob secret subject lines", vec(d, 1))}).isOk());
  auto mine = store->listResources("alice", {});
  ASSERT_TRUE(mine.isOk());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].id, "r1");
  EXPECT_EQ((*mine)[0].chunkCount, 1);
  EXPECT_EQ(store->getResource("alice", "r1")->content, "Email handbook");
  EXPECT_EQ(store->getResource("alice", "r2").status().code(), Code::NotFound);
  EXPECT_EQ(store->deleteResource("alice", "r2").code(), Code::NotFound);
  EXPECT_TRUE(store->getResource("bob", "r2").isOk());  // still there
  auto duplicate = store->putResource(resource("r1", "alice", "handbook", "again"), {});
  EXPECT_FALSE(duplicate.isOk());
}

TEST_P(StoreConformance, FullTextAndVectorSearchAreFilteredByUserAndType) {
  int d = store->embeddingDimensions();
  ASSERT_TRUE(store->putResource(resource("h", "alice", "handbook", ""),
                                 {chunk("h0", "h", 0, "Write short subject lines for email campaigns", vec(d, 1)),
                                  chunk("h1", "h", 1, "Landing pages need one clear call to action", vec(d, 2))}).isOk());
  ASSERT_TRUE(store->putResource(resource("p", "alice", "persona", ""), {chunk("p0", "p", 0, "Busy parents read email at night", vec(d, 3))}).isOk());
  ASSERT_TRUE(store->putResource(resource("x", "bob", "handbook", ""), {chunk("x0", "x", 0, "Email subject lines from bob", vec(d, 1))}).isOk());

  SearchQuery text{"alice", "email subject lines", {}, 10, {}, {}};
  auto hits = store->searchText(text);
  ASSERT_TRUE(hits.isOk()) << hits.status().toString();
  ASSERT_GE(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].chunkId, "h0");
  EXPECT_EQ((*hits)[0].resourceTitle, "Title h");
  for (const auto& hit : *hits) EXPECT_NE(hit.resourceId, "x");
  text.resourceTypes = {"persona"};
  auto personas = store->searchText(text);
  ASSERT_EQ(personas->size(), 1u);
  EXPECT_EQ((*personas)[0].resourceId, "p");

  SearchQuery vector{"alice", "", vec(d, 2), 3, {}, {}};
  auto near = store->searchVector(vector);
  ASSERT_TRUE(near.isOk()) << near.status().toString();
  ASSERT_FALSE(near->empty());
  EXPECT_EQ((*near)[0].chunkId, "h1");
  for (const auto& hit : *near) EXPECT_NE(hit.resourceId, "x");
  vector.resourceIds = {"p"};
  auto onlyP = store->searchVector(vector);
  ASSERT_EQ(onlyP->size(), 1u);
  EXPECT_EQ((*onlyP)[0].chunkId, "p0");

  ASSERT_TRUE(store->deleteResource("alice", "h").isOk());
  EXPECT_TRUE(store->searchText({"alice", "landing pages", {}, 10, {}, {}})->empty());
  for (const auto& hit : *store->searchVector({"alice", "", vec(d, 2), 5, {}, {}})) EXPECT_NE(hit.resourceId, "h");
  std::vector<float> wrong(static_cast<size_t>(d + 1), 0.1f);
  EXPECT_EQ(store->searchVector({"alice", "", wrong, 5, {}, {}}).status().code(), Code::InvalidArgument);
  EXPECT_EQ(store->putResource(resource("bad", "alice", "t", ""), {chunk("bad0", "bad", 0, "x", wrong)}).code(), Code::InvalidArgument);
}

TEST_P(StoreConformance, CanonOverridesPerUser) {
  CanonEntry entry{"alice", "email", "template", "promo", {{"body", "Subject: {{subject}}"}}, 5};
  ASSERT_TRUE(store->putCanon(entry).isOk());
  entry.body = {{"body", "Subject: {{subject}}!"}};
  ASSERT_TRUE(store->putCanon(entry).isOk());  // upsert
  auto list = store->listCanon("alice", "email");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].body["body"], "Subject: {{subject}}!");
  EXPECT_TRUE(store->listCanon("bob", "email")->empty());
  EXPECT_TRUE(store->listCanon("alice", "ad")->empty());
  EXPECT_EQ(store->listCanon("alice", "")->size(), 1u);
  EXPECT_EQ(store->deleteCanon("bob", "email", "template", "promo").code(), Code::NotFound);
  ASSERT_TRUE(store->deleteCanon("alice", "email", "template", "promo").isOk());
  EXPECT_TRUE(store->listCanon("alice", "email")->empty());
}

TEST_P(StoreConformance, ConversationsMessagesArtifactsAndEvents) {
  ASSERT_TRUE(store->putConversation({"c1", "alice", "Spring sale", 0, 10, 10}).isOk());
  EXPECT_EQ(store->putConversation({"c1", "bob", "steal", 0, 10, 10}).code(), Code::NotFound);
  ASSERT_TRUE(store->appendMessage({"m1", "c1", "alice", "user", "Create an email", "run1", Json::object(), 11}).isOk());
  ASSERT_TRUE(store->appendMessage({"m2", "c1", "alice", "assistant", "Done", "run1", {{"costUsd", 0.01}}, 12}).isOk());
  ASSERT_TRUE(store->putConversation({"c1", "alice", "Spring sale", 2, 10, 12}).isOk());
  auto messages = store->listMessages("alice", "c1");
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[1].metadata["costUsd"], 0.01);
  EXPECT_TRUE(store->listMessages("bob", "c1")->empty());
  EXPECT_EQ(store->getConversation("alice", "c1")->messageCount, 2);
  EXPECT_EQ(store->getConversation("bob", "c1").status().code(), Code::NotFound);

  ArtifactRecord artifact{"a1", "c1", "alice", "run1", "email", "Subject: Hi", 2, "complete", {{"k", 1}}, 12};
  ASSERT_TRUE(store->putArtifact(artifact).isOk());
  EXPECT_EQ(store->getArtifact("alice", "a1")->content, "Subject: Hi");
  EXPECT_EQ(store->getArtifact("bob", "a1").status().code(), Code::NotFound);
  EXPECT_EQ(store->listArtifacts("alice", "c1")->size(), 1u);

  ASSERT_TRUE(store->appendRunEvents("alice", "c1", "run1", {{1, "thinking", "{}"}, {2, "done", "{}"}}).isOk());
  ASSERT_TRUE(store->appendRunEvents("alice", "c1", "run1", {{2, "done", "{}"}}).isOk());  // idempotent
  EXPECT_EQ(store->runEvents("alice", "run1", 0)->size(), 2u);
  EXPECT_EQ(store->runEvents("alice", "run1", 1)->size(), 1u);
  EXPECT_TRUE(store->runEvents("bob", "run1", 0)->empty());

  Checkpoint checkpoint;
  checkpoint.threadId = "c1";
  checkpoint.runId = "run1";
  checkpoint.step = 1;
  checkpoint.status = "completed";
  checkpoint.state = {{"x", 1}};
  ASSERT_TRUE(store->checkpointer()->save(checkpoint).isOk());
  EXPECT_EQ(store->checkpointer()->latest("c1", "run1")->state["x"], 1);

  auto list = store->listConversations("alice", {10, 0});
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(store->deleteConversation("bob", "c1").code(), Code::NotFound);
  ASSERT_TRUE(store->deleteConversation("alice", "c1").isOk());
  EXPECT_EQ(store->getConversation("alice", "c1").status().code(), Code::NotFound);
  EXPECT_TRUE(store->listMessages("alice", "c1")->empty());
  EXPECT_EQ(store->getArtifact("alice", "a1").status().code(), Code::NotFound);
  EXPECT_TRUE(store->runEvents("alice", "run1", 0)->empty());
  EXPECT_EQ(store->checkpointer()->latest("c1", "run1").status().code(), Code::NotFound);
}

// A store may keep a run's events in batches: a replay after any event gets
// each later event once, in order, whatever the batches and the text hold.
TEST_P(StoreConformance, RunEventsReplayAcrossBatchesInOrder) {
  ASSERT_TRUE(store->putConversation({"c1", "alice", "Batches", 0, 10, 10}).isOk());
  std::string awkward = std::string("quote \" backslash \\ newline \n caf\xC3\xA9 \xF0\x9F\x9A\x80 nul ") + '\0';
  std::vector<RunEvent> first, second, overlapping;
  for (int64_t i = 1; i <= 200; ++i) first.push_back({i, "artifact", "{\"n\":" + std::to_string(i) + "}"});
  first.push_back({201, "message", awkward});
  for (int64_t i = 202; i <= 240; ++i) second.push_back({i, "artifact", "{}"});
  for (int64_t i = 230; i <= 241; ++i) overlapping.push_back({i, i == 241 ? "done" : "artifact", "{}"});
  ASSERT_TRUE(store->appendRunEvents("alice", "c1", "run1", first).isOk());
  ASSERT_TRUE(store->appendRunEvents("alice", "c1", "run1", second).isOk());
  ASSERT_TRUE(store->appendRunEvents("alice", "c1", "run1", overlapping).isOk());
  ASSERT_TRUE(store->appendRunEvents("alice", "c1", "run1", {}).isOk());
  auto all = store->runEvents("alice", "run1", 0);
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  ASSERT_EQ(all->size(), 241u);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].sequence, static_cast<int64_t>(i + 1));
  EXPECT_EQ((*all)[6].data, "{\"n\":7}");
  EXPECT_EQ((*all)[200].event, "message");
  EXPECT_EQ((*all)[200].data, awkward);
  EXPECT_EQ((*all)[240].event, "done");
  auto tail = store->runEvents("alice", "run1", 235);
  ASSERT_TRUE(tail.isOk());
  ASSERT_EQ(tail->size(), 6u);
  EXPECT_EQ(tail->front().sequence, 236);
  EXPECT_TRUE(store->runEvents("alice", "run1", 241)->empty());
  EXPECT_TRUE(store->runEvents("alice", "run2", 0)->empty());
}

// A finished run in one call: the conversation's count and time, the
// artifacts, the message and the events, or nothing at all.
TEST_P(StoreConformance, SavesAFinishedRunAtOnceOrNotAtAll) {
  auto* runs = dynamic_cast<RunRecordStore*>(store.get());
  ASSERT_NE(runs, nullptr) << "every shipped store saves runs at once";
  ASSERT_TRUE(store->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
  ASSERT_TRUE(store->appendMessage({"m1", "c1", "alice", "user", "Create an email", "run1", Json::object(), 10}).isOk());

  RunRecord run{"alice", "c1", "run1", {}, std::nullopt, 20, {}};
  run.artifacts.push_back({"a1", "c1", "alice", "run1", "email", "Subject: Hi \"there\"\nBody", 3, "complete", {{"k", 1}}, 15});
  run.artifacts.push_back({"a2", "c1", "alice", "run1", "ad", "Half an a", 3, "incomplete", Json::object(), 16});
  run.assistantMessage = MessageRecord{"m2", "c1", "alice", "assistant", "Done", "run1", {{"steps", 4}}, 19};
  run.events = runEventBatch({{1, "thinking", "{}"}, {2, "artifact", "{\"type\":\"start\"}"}, {3, "done", "{\"messageCount\":2}"}});
  ASSERT_TRUE(runs->saveRun(run).isOk());
  auto conversation = store->getConversation("alice", "c1");
  EXPECT_EQ(conversation->messageCount, 2);
  EXPECT_EQ(conversation->updatedAtMs, 20);
  auto artifacts = store->listArtifacts("alice", "c1");
  ASSERT_EQ(artifacts->size(), 2u);
  EXPECT_EQ(store->getArtifact("alice", "a1")->content, "Subject: Hi \"there\"\nBody");
  EXPECT_EQ(store->getArtifact("alice", "a1")->metadata["k"], 1);
  EXPECT_EQ(store->getArtifact("alice", "a2")->status, "incomplete");
  auto messages = store->listMessages("alice", "c1");
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[1].content, "Done");
  EXPECT_EQ((*messages)[1].metadata["steps"], 4);
  EXPECT_EQ(store->runEvents("alice", "run1", 1)->size(), 2u);

  // A failed run: no message, the count stays.
  RunRecord failed{"alice", "c1", "run2", {{"a3", "c1", "alice", "run2", "email", "Sub", 1, "incomplete", {}, 30}}, std::nullopt, 31,
                   runEventBatch({{1, "error", "{}"}})};
  ASSERT_TRUE(runs->saveRun(failed).isOk());
  EXPECT_EQ(store->getConversation("alice", "c1")->messageCount, 2);
  EXPECT_EQ(store->getArtifact("alice", "a3")->status, "incomplete");

  // Another user's conversation: NotFound, and nothing of the run is saved.
  RunRecord intruder{"bob", "c1", "run3", {{"a1", "c1", "bob", "run3", "email", "stolen", 1, "complete", {}, 40}},
                     MessageRecord{"m3", "c1", "bob", "assistant", "hi", "run3", {}, 40}, 41, runEventBatch({{1, "done", "{}"}})};
  EXPECT_EQ(runs->saveRun(intruder).code(), Code::NotFound);
  EXPECT_EQ(store->getArtifact("alice", "a1")->content, "Subject: Hi \"there\"\nBody");
  EXPECT_EQ(store->listMessages("alice", "c1")->size(), 2u);
  EXPECT_EQ(store->getConversation("alice", "c1")->messageCount, 2);
  EXPECT_TRUE(store->runEvents("bob", "run3", 0)->empty());
  RunRecord orphan{"alice", "gone", "run4", {}, std::nullopt, 50, runEventBatch({{1, "done", "{}"}})};
  EXPECT_EQ(runs->saveRun(orphan).code(), Code::NotFound);
}

// A finished run with the graph's last checkpoint, in one transaction: the
// checkpoint as Checkpointer::save keeps it (its text, the retention, the
// step's pending writes cleared), or, when the conversation is gone or
// another user's, neither.
TEST_P(StoreConformance, SavesARunWithItsLastCheckpointOrNeither) {
  auto* runs = dynamic_cast<RunCheckpointStore*>(store.get());
  ASSERT_NE(runs, nullptr) << "every shipped store saves a run with its checkpoint";
  ASSERT_TRUE(store->putConversation({"c1", "alice", "Sale", 1, 10, 10}).isOk());
  auto checkpointer = store->checkpointer();
  ASSERT_NO_FATAL_FAILURE(seedThreadBeforeRun1(*checkpointer));

  Checkpoint last = run1LastCheckpoint();
  last.next = {"end"};
  last.createdAtMs = 21;
  last.state = {{"messages", Json::array({{{"role", "assistant"}, {"content", "Done \"quoted\""}}})}};
  std::string text = checkpointText(last);
  Checkpoint lent = last;
  lent.state = Json();  // the text has it
  RunRecord run{"alice", "c1", "run1", {{"a1", "c1", "alice", "run1", "email", "Body", 1, "complete", {}, 15}},
                MessageRecord{"m2", "c1", "alice", "assistant", "Done", "run1", {}, 19}, 20,
                runEventBatch({{1, "thinking", "{}"}, {2, "done", "{}"}})};
  Status saved = runs->saveRunWithCheckpoint(run, lent, text);
  ASSERT_TRUE(saved.isOk()) << saved.toString();
  EXPECT_EQ(store->getConversation("alice", "c1")->messageCount, 2);
  EXPECT_EQ(store->getArtifact("alice", "a1")->content, "Body");
  EXPECT_EQ(store->runEvents("alice", "run1", 0)->size(), 2u);
  auto latest = checkpointer->latest("c1", "run1");
  ASSERT_TRUE(latest.isOk()) << latest.status().toString();
  EXPECT_EQ(latest->step, 6);
  EXPECT_EQ(latest->next, std::vector<std::string>{"end"});
  EXPECT_EQ(latest->state, last.state);
  auto history = checkpointer->history("c1");
  EXPECT_EQ(history->size(), 20u);  // the retention, the new one included
  EXPECT_EQ(history->back().runId, "run1");
  EXPECT_TRUE(checkpointer->pendingWrites("c1", "run1", 2)->empty());  // the steps before the checkpoint's
  EXPECT_EQ(checkpointer->pendingWrites("c1", "run1", 6)->size(), 1u);

  // Another user's conversation, or none: NotFound, and no checkpoint either.
  Checkpoint intruding = lent;
  intruding.runId = "run3";
  RunRecord intruder{"bob", "c1", "run3", {}, std::nullopt, 40, runEventBatch({{1, "done", "{}"}})};
  EXPECT_EQ(runs->saveRunWithCheckpoint(intruder, intruding, checkpointText(intruding)).code(), Code::NotFound);
  EXPECT_EQ(checkpointer->latest("c1", "run3").status().code(), Code::NotFound);
  EXPECT_EQ(checkpointer->history("c1")->size(), 20u);
  EXPECT_EQ(checkpointer->pendingWrites("c1", "run1", 6)->size(), 1u);
  Checkpoint orphaned = lent;
  orphaned.threadId = "gone";
  RunRecord orphan{"alice", "gone", "run4", {}, std::nullopt, 50, runEventBatch({{1, "done", "{}"}})};
  EXPECT_EQ(runs->saveRunWithCheckpoint(orphan, orphaned, checkpointText(orphaned)).code(), Code::NotFound);
  EXPECT_TRUE(checkpointer->history("gone")->empty());
}

// Group commit (RunBatchStore): runs that finished together, saved in one
// call, each as saveRun or saveRunWithCheckpoint would save it alone; one
// run's NotFound leaves the others saved; two runs of one conversation both count.
TEST_P(StoreConformance, SavesFinishedRunsTogetherEachAsItWouldAlone) {
  auto* batches = dynamic_cast<RunBatchStore*>(store.get());
  if (batches == nullptr) GTEST_SKIP() << "this store saves runs one by one";
  for (const char* id : {"c1", "c2", "c3"}) ASSERT_TRUE(store->putConversation({id, "alice", "Sale", 1, 10, 10}).isOk());
  auto checkpointer = store->checkpointer();
  ASSERT_NO_FATAL_FAILURE(seedThreadBeforeRun1(*checkpointer));
  Checkpoint last = run1LastCheckpoint();
  last.createdAtMs = 21;
  last.state = {{"messages", Json::array({{{"role", "assistant"}, {"content", "Done \"quoted\""}}})}};
  std::string text = checkpointText(last);

  RunRecord first{"alice", "c1", "run1", {{"a1", "c1", "alice", "run1", "email", "Subject: \"Hi\"\n\\Body", 3, "complete", {{"k", 1}}, 15}},
                  MessageRecord{"m2", "c1", "alice", "assistant", "Done, \"quoted\"", "run1", {{"steps", 4}}, 19}, 20,
                  runEventBatch({{1, "thinking", "{}"}, {2, "done", "{}"}})};
  RunRecord failed{"alice", "c2", "run2",
                   {{"a2", "c2", "alice", "run2", "ad", "One", 1, "incomplete", {}, 25}, {"a3", "c2", "alice", "run2", "ad", "Two", 1, "complete", {}, 26}},
                   std::nullopt, 30, runEventBatch({{1, "error", "{}"}})};
  RunRecord intruder{"bob", "c3", "run3", {{"a4", "c3", "bob", "run3", "email", "stolen", 1, "complete", {}, 35}},
                     MessageRecord{"m3", "c3", "bob", "assistant", "hi", "run3", {}, 36}, 40, runEventBatch({{1, "done", "{}"}})};
  RunRecord orphan{"alice", "gone", "run4", {}, MessageRecord{"m4", "gone", "alice", "assistant", "hi", "run4", {}, 45}, 50,
                   runEventBatch({{1, "done", "{}"}})};
  RunRecord again{"alice", "c1", "run5", {}, MessageRecord{"m5", "c1", "alice", "assistant", "Again", "run5", {}, 55}, 60,
                  runEventBatch({{1, "done", "{}"}})};
  auto saved = batches->saveRuns({{&first, &last, &text}, {&failed}, {&intruder}, {&orphan}, {&again}});
  ASSERT_EQ(saved.size(), 5u);
  EXPECT_TRUE(saved[0].isOk()) << saved[0].toString();
  EXPECT_TRUE(saved[1].isOk()) << saved[1].toString();
  EXPECT_EQ(saved[2].code(), Code::NotFound);
  EXPECT_EQ(saved[3].code(), Code::NotFound);
  EXPECT_TRUE(saved[4].isOk()) << saved[4].toString();

  auto c1 = store->getConversation("alice", "c1");
  EXPECT_EQ(c1->messageCount, 3);  // both runs' messages
  EXPECT_EQ(c1->updatedAtMs, 60);
  EXPECT_EQ(store->getConversation("alice", "c2")->messageCount, 1);  // no message: the count stays
  EXPECT_EQ(store->getConversation("alice", "c2")->updatedAtMs, 30);
  EXPECT_EQ(store->getConversation("alice", "c3")->updatedAtMs, 10);  // another user's run changed nothing
  EXPECT_EQ(store->getArtifact("alice", "a1")->content, "Subject: \"Hi\"\n\\Body");
  EXPECT_EQ(store->getArtifact("alice", "a1")->metadata["k"], 1);
  EXPECT_EQ(store->listArtifacts("alice", "c2")->size(), 2u);
  EXPECT_EQ(store->getArtifact("alice", "a2")->status, "incomplete");
  EXPECT_EQ(store->getArtifact("bob", "a4").status().code(), Code::NotFound);
  auto messages = store->listMessages("alice", "c1");
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0].content, "Done, \"quoted\"");
  EXPECT_EQ((*messages)[0].metadata["steps"], 4);
  EXPECT_EQ((*messages)[1].content, "Again");
  EXPECT_TRUE(store->listMessages("bob", "c3")->empty());
  EXPECT_EQ(store->runEvents("alice", "run1", 0)->size(), 2u);
  EXPECT_EQ(store->runEvents("alice", "run2", 0)->size(), 1u);
  EXPECT_EQ(store->runEvents("alice", "run5", 0)->size(), 1u);
  EXPECT_TRUE(store->runEvents("bob", "run3", 0)->empty());
  EXPECT_TRUE(store->runEvents("alice", "run4", 0)->empty());
  auto latest = checkpointer->latest("c1", "run1");
  ASSERT_TRUE(latest.isOk()) << latest.status().toString();
  EXPECT_EQ(latest->step, 6);
  EXPECT_EQ(latest->state, last.state);
  EXPECT_EQ(checkpointer->history("c1")->size(), 20u);  // the retention, the new one included
  EXPECT_TRUE(checkpointer->pendingWrites("c1", "run1", 2)->empty());
  EXPECT_EQ(checkpointer->pendingWrites("c1", "run1", 6)->size(), 1u);
}

// A batch whose statement fails for one run's sake (two messages with one id)
// is saved run by run: the first run is saved, the second gets its own error.
TEST_P(StoreConformance, OneRunsFaultInABatchIsItsOwn) {
  auto* batches = dynamic_cast<RunBatchStore*>(store.get());
  if (batches == nullptr) GTEST_SKIP() << "this store saves runs one by one";
  for (const char* id : {"c1", "c2", "c3"}) ASSERT_TRUE(store->putConversation({id, "alice", "Sale", 1, 10, 10}).isOk());
  RunRecord one{"alice", "c1", "run1", {}, MessageRecord{"m1", "c1", "alice", "assistant", "One", "run1", {}, 11}, 12,
                runEventBatch({{1, "done", "{}"}})};
  RunRecord clash{"alice", "c2", "run2", {}, MessageRecord{"m1", "c2", "alice", "assistant", "Two", "run2", {}, 21}, 22,
                  runEventBatch({{1, "done", "{}"}})};
  RunRecord three{"alice", "c3", "run3", {}, MessageRecord{"m3", "c3", "alice", "assistant", "Three", "run3", {}, 31}, 32,
                  runEventBatch({{1, "done", "{}"}})};
  auto saved = batches->saveRuns({{&one}, {&clash}, {&three}});
  ASSERT_EQ(saved.size(), 3u);
  EXPECT_TRUE(saved[0].isOk()) << saved[0].toString();
  EXPECT_FALSE(saved[1].isOk());
  EXPECT_TRUE(saved[2].isOk()) << saved[2].toString();
  EXPECT_EQ(store->getConversation("alice", "c1")->messageCount, 2);
  EXPECT_EQ(store->getConversation("alice", "c2")->messageCount, 1);  // nothing of the failed run
  EXPECT_TRUE(store->runEvents("alice", "run2", 0)->empty());
  EXPECT_EQ(store->getConversation("alice", "c3")->messageCount, 2);
  EXPECT_EQ(store->runEvents("alice", "run3", 0)->size(), 1u);
}

TEST_P(StoreConformance, BeginningATurnCountsTheUsersMessageOrRefusesAnotherUsersConversation) {
  auto* runs = dynamic_cast<RunRecordStore*>(store.get());
  ASSERT_NE(runs, nullptr);
  auto first = runs->beginTurn({"c1", "alice", "Spring sale", 0, 10, 10}, {"m1", "c1", "alice", "user", "Create an email", "run1", {}, 11});
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_EQ(*first, 1);
  auto second = runs->beginTurn({"c1", "alice", "Another title", 2, 99, 99}, {"m2", "c1", "alice", "user", "And an ad", "run2", {}, 21});
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(*second, 2);  // counted in the database, not from the record passed
  auto conversation = store->getConversation("alice", "c1");
  EXPECT_EQ(conversation->title, "Spring sale");
  EXPECT_EQ(conversation->createdAtMs, 10);
  EXPECT_EQ(conversation->updatedAtMs, 21);
  auto messages = store->listMessages("alice", "c1");
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[1].content, "And an ad");
  EXPECT_EQ((*messages)[1].role, "user");
  auto intruder = runs->beginTurn({"c1", "bob", "steal", 0, 30, 30}, {"m3", "c1", "bob", "user", "mine now", "run3", {}, 31});
  EXPECT_EQ(intruder.status().code(), Code::NotFound);
  EXPECT_EQ(store->listMessages("alice", "c1")->size(), 2u);
  EXPECT_EQ(store->getConversation("alice", "c1")->messageCount, 2);
}

TEST_P(StoreConformance, AnotherUsersArtifactIdIsNotOverwritten) {
  ASSERT_TRUE(store->putArtifact({"a1", "c1", "alice", "run1", "email", "mine", 1, "complete", {}, 1}).isOk());
  EXPECT_EQ(store->putArtifact({"a1", "c9", "bob", "run9", "email", "stolen", 1, "complete", {}, 2}).code(), Code::NotFound);
  EXPECT_EQ(store->getArtifact("alice", "a1")->content, "mine");
}

TEST_P(StoreConformance, CheckpointRetentionIsBounded) {
  for (int i = 0; i < 40; ++i) {
    Status saved = store->checkpointer()->save(checkpointAt("t", "r", i, "running"));
    ASSERT_TRUE(saved.isOk()) << saved.toString();
  }
  auto history = store->checkpointer()->history("t");
  ASSERT_TRUE(history.isOk());
  EXPECT_LE(history->size(), 20u);
  EXPECT_EQ(history->back().step, 39);
}

TEST_P(StoreConformance, ConcurrentWritersAndReaders) {
  int d = store->embeddingDimensions();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string id = "r" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store->putResource(resource(id, "u", "handbook", "text"), {chunk(id + "c", id, 0, "concurrent text " + id, vec(d, i))}).isOk());
        EXPECT_TRUE(store->searchText({"u", "concurrent", {}, 5, {}, {}}).isOk());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store->listResources("u", {1000, 0})->size(), 80u);
}

// Chat turns of one conversation overlap: one turn saves its end (message,
// conversation) while the next starts (conversation, message). Every write
// waits for the others; none fails with "database is locked".
TEST_P(StoreConformance, ConcurrentTurnsOfOneConversationAllSave) {
  ASSERT_TRUE(store->putConversation({"conv-busy", "u", "Busy", 0, 1, 1}).isOk());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::string firstFailure;
  std::mutex mutex;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        for (const Status& status : {store->putConversation({"conv-busy", "u", "Busy", i, 1, 2 + i}),
                                     store->appendMessage({"m" + id, "conv-busy", "u", "user", "hello " + id, "run" + id, Json::object(), i})}) {
          if (status.isOk()) continue;
          std::lock_guard<std::mutex> lock(mutex);
          if (failures++ == 0) firstFailure = status.toString();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << firstFailure;
  EXPECT_EQ(store->listMessages("u", "conv-busy")->size(), 160u);
  EXPECT_EQ(store->putConversation({"conv-busy", "someone-else", "Mine", 0, 1, 1}).code(), Code::NotFound);
}

}  // namespace
}  // namespace mx::test
