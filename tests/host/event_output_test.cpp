// The hot event path: artifact deltas formatted without a JSON tree, the run
// log tracking drafts from them, and output batches coalescing writes (one
// per HTTP client pass, one per worker task).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <condition_variable>
#include <future>
#include <random>
#include <thread>

#include "chat/json_text.hpp"
#include "cpu_spin.hpp"
#include "chat/run_log.hpp"
#include "mx/json.hpp"
#include "net/output_batch.hpp"
#include "runtime/worker_pool.hpp"

namespace mx::host {
namespace {

std::string viaNlohmann(const std::string& text) { return Json(text).dump(); }

std::string viaAppend(std::string_view text) {
  std::string out;
  appendJsonString(out, text);
  return out;
}

TEST(JsonText, WritesStringsExactlyAsNlohmannDoes) {
  std::vector<std::string> samples = {"",          "plain words", "quote \" and backslash \\", "line\nbreak\r\ttab",
                                      "\b\f",      "caf\xC3\xA9", "\xE2\x82\xAC 100",          "emoji \xF0\x9F\x9A\x80!",
                                      "del \x7F",  "</script>",   "{\"json\": [1, 2]}"};
  std::string controls;
  for (char c = 1; c < 0x20; ++c) controls.push_back(c);
  samples.push_back(controls);
  samples.push_back(std::string("nul \0 inside", 12));
  for (const auto& sample : samples) EXPECT_EQ(viaAppend(sample), viaNlohmann(sample)) << sample;
}

TEST(JsonText, ReplacesInvalidUtf8InsteadOfThrowing) {
  // A lone continuation byte, a truncated sequence, an overlong form, a surrogate.
  for (std::string bad : {"a\x80z", "cut \xE2\x82", "overlong \xC0\xAF", "surrogate \xED\xA0\x80", "\xF5\x80\x80\x80"}) {
    std::string written = viaAppend(bad);
    Json parsed = Json::parse(written, nullptr, false);
    ASSERT_TRUE(parsed.is_string()) << written;
    EXPECT_NE(parsed.get<std::string>().find("\xEF\xBF\xBD"), std::string::npos) << written;
  }
}

// The sixteen- and eight-byte fast paths: whatever byte needs attention,
// wherever it falls in or around a block (two blocks, then the eight-byte
// step, then single bytes), the text is the same as nlohmann's.
TEST(JsonText, EveryPositionOfASpecialByteInLongTextIsWrittenAsNlohmannDoes) {
  for (std::string special : std::vector<std::string>{"\"", "\\", "\n", std::string(1, '\x01'), std::string(1, '\x1F'), "\x7F", " ", "~",
                              "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x9A\x80"}) {
    for (size_t at = 0; at < 44; ++at) {
      std::string text = std::string(at, 'a') + special + std::string(43 - at, 'z');
      ASSERT_EQ(viaAppend(text), viaNlohmann(text)) << "at " << at;
    }
  }
  std::string invalid = std::string(13, 'a') + "\x80" + std::string(13, 'b');
  EXPECT_EQ(Json::parse(viaAppend(invalid)).get<std::string>(), std::string(13, 'a') + "\xEF\xBF\xBD" + std::string(13, 'b'));
}

// Short text takes its own path (a stack buffer): every special byte at every
// position of every length up to past the threshold, as nlohmann writes it.
TEST(JsonText, ShortTextWithASpecialByteAnywhereIsWrittenAsNlohmannDoes) {
  for (std::string special : std::vector<std::string>{"\"", "\\", "\n", std::string(1, '\x01'), "\x7F", "\xC3\xA9",
                                                      "\xE2\x82\xAC", "\xF0\x9F\x9A\x80", "\x80", "\xE2\x82"}) {
    for (size_t length = 0; length <= 18; ++length) {
      for (size_t at = 0; at <= length; ++at) {
        std::string text = std::string(at, 'a') + special + std::string(length - at, 'z');
        std::string written = viaAppend(text);
        Json parsed = Json::parse(written, nullptr, false);
        ASSERT_TRUE(parsed.is_string()) << written;
        if (special != "\x80" && special != "\xE2\x82") {  // invalid UTF-8: nlohmann throws, ours writes U+FFFD
          ASSERT_EQ(written, viaNlohmann(text)) << "length " << length << " at " << at;
        } else {
          ASSERT_NE(parsed.get<std::string>().find("\xEF\xBF\xBD"), std::string::npos) << written;
        }
      }
    }
  }
  std::string escapes(16, '\x01');  // six bytes out for each byte in
  EXPECT_EQ(viaAppend(escapes), viaNlohmann(escapes));
  EXPECT_EQ(viaAppend(""), "\"\"");
}

// Text whose every byte is escaped outgrows the room made ahead for a few
// escapes (a control byte takes six): the string grows, also behind text
// already written, and nothing is lost.
TEST(JsonText, TextOfOnlyEscapesOutgrowsTheRoomMadeAhead) {
  for (size_t length : {1, 15, 16, 17, 100, 5000}) {
    std::string text(length, '\x01');
    for (size_t i = 0; i < length; i += 3) text[i] = '"';
    std::string out = "prefix:";
    appendJsonString(out, text);
    EXPECT_EQ(out, "prefix:" + viaNlohmann(text)) << length;
  }
}

// Text made of random pieces — plain letters, quotes, backslashes, control
// bytes, two- to four-byte UTF-8 — at random lengths: as nlohmann writes it.
TEST(JsonText, RandomMixturesAreWrittenAsNlohmannDoes) {
  const std::vector<std::string> pieces = {"a", "bcdefgh", "ijklmnopqrstuvwxyz0123", "\"", "\\", "\n", "\t", std::string(1, '\x02'),
                                           "\x7F", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x9A\x80", "{\"k\":\"v\"}", " "};
  std::mt19937 random(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    size_t count = random() % 40;
    for (size_t i = 0; i < count; ++i) text += pieces[random() % pieces.size()];
    ASSERT_EQ(viaAppend(text), viaNlohmann(text)) << text;
  }
}

TEST(JsonText, WholeValuesAreWrittenAsDumpWritesThem) {
  Json value = {{"messages", Json::array({{{"role", "user"}, {"content", "Create an email \"campaign\"\nfor caf\xC3\xA9s"}},
                                           {{"role", "assistant"},
                                            {"content", Json::array({{{"type", "tool_use"}, {"id", "toolu_1"}, {"input", {{"query", "spring"}, {"limit", 5}}}}})}}})},
                {"usage", {{"inputTokens", 1200}, {"costUsd", 0.0123}, {"ratio", -2.5e-7}, {"big", 18446744073709551615ULL}, {"negative", -42}}},
                {"flags", {true, false, nullptr}},
                {"empty", {{"object", Json::object()}, {"array", Json::array()}, {"string", ""}}},
                {"z last", "order"}, {"A first", 1}};
  EXPECT_EQ(jsonText(value), value.dump());
  std::string prefixed = "[";
  appendJson(prefixed, Json(3.0));
  EXPECT_EQ(prefixed, "[" + Json(3.0).dump());
  // Where dump() would throw on invalid UTF-8, the text says U+FFFD instead.
  EXPECT_EQ(Json::parse(jsonText({{"bad", "a\xFFz"}}))["bad"], "a\xEF\xBF\xBDz");
}

// Numbers are written without dump(), in dump()'s exact format.
TEST(JsonText, NumbersAreWrittenAsDumpWritesThem) {
  std::vector<Json> numbers = {0, -0, 1, -1, 42, INT64_MIN, INT64_MAX, 18446744073709551615ULL, 0u,
                               0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 100.0, 1e15, 1e16, 1e17, 1e21, 1e300, -1e-300, 1e-4, 1e-5, 1e-7,
                               0.1, 0.2 + 0.1, 1.0 / 3.0, 2.5e-7, 123456.789, 5e-324, 1.7976931348623157e308,
                               static_cast<double>(static_cast<float>(0.1))};
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> anyDouble(-1e6, 1e6);
  std::uniform_int_distribution<int> exponent(-320, 300);
  for (int i = 0; i < 2000; ++i) numbers.push_back(std::ldexp(anyDouble(random), exponent(random) / 4));
  for (int i = 0; i < 200; ++i) numbers.push_back(static_cast<int64_t>(random()));
  for (const Json& number : numbers) EXPECT_EQ(jsonText(number), number.dump());
  // Not finite: null, as dump() writes them.
  EXPECT_EQ(jsonText(Json(std::nan(""))), "null");
  EXPECT_EQ(jsonText(Json(-INFINITY)), Json(-INFINITY).dump());
}

TEST(JsonText, ArtifactDeltaMatchesTheTreeFormat) {
  std::string text = "Spring \"sale\"\nstarts \xE2\x82\xAC";
  std::string written = "prefix";  // appended after what the buffer already holds
  chat::appendArtifactDelta(written, chat::artifactDeltaHead("art_1"), text);
  EXPECT_EQ(written.substr(6), Json({{"type", "delta"}, {"artifactId", "art_1"}, {"content", text}}).dump());
  std::string stored;  // what a stored batch makes of a delta record: the same bytes
  appendArtifactDeltaData(stored, "art_1", text);
  EXPECT_EQ(stored, written.substr(6));
}

TEST(RunLog, ArtifactDeltasAreEventsAndBuildTheDraft) {
  chat::RunLog log;
  log.emitJson("artifact", {{"type", "start"}, {"artifactId", "art_9"}, {"metadata", {{"contentType", "email"}}}});
  log.emitArtifactDelta("art_9", "Hello ");
  log.emitArtifactDelta("art_9", "\"world\"");
  EventSink& sink = log;  // a plugin built against the SDK default sees the same event
  sink.emitArtifactDelta("art_9", "!");
  log.emitJson("artifact", {{"type", "end"}, {"artifactId", "art_9"}, {"metadata", {{"wordCount", 2}}}});

  auto events = log.events();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[1].sequence, 2);
  EXPECT_EQ(events[1].event, "artifact");
  EXPECT_EQ(Json::parse(events[2].data), Json({{"type", "delta"}, {"artifactId", "art_9"}, {"content", "\"world\""}}));
  auto drafts = log.artifacts();
  ASSERT_EQ(drafts.size(), 1u);
  EXPECT_EQ(drafts[0].content, "Hello \"world\"!");
  EXPECT_EQ(drafts[0].contentType, "email");
  EXPECT_TRUE(drafts[0].ended);
  EXPECT_EQ(drafts[0].wordCount, 2);
}

// A delta keeps no JSON in the log (its entry points into the draft): the
// events it gives back are still exactly what was sent, whatever the order.
TEST(RunLog, InterleavedArtifactsGiveBackEveryDeltaExactly) {
  chat::RunLog log;
  std::vector<std::pair<std::string, std::string>> sent;  // artifact, text
  const char* texts[] = {"Sale", " \"now\"\n", "\xE2\x82\xAC" "5", "", "\\end\x01"};
  for (int i = 0; i < 10; ++i) {
    std::string artifact = i % 3 == 0 ? "art_b" : "art_a";
    sent.emplace_back(artifact, texts[i % 5]);
    if (i == 4) {
      log.emitJson("tool_call", {{"name", "validate"}});
    }
    log.emitArtifactDelta(artifact, texts[i % 5]);
  }
  auto events = log.events();
  ASSERT_EQ(events.size(), 11u);
  std::string contentA, contentB;
  size_t deltaIndex = 0;
  for (const auto& event : events) {
    if (event.event == "tool_call") continue;
    const auto& [artifact, text] = sent[deltaIndex++];
    std::string expected;
    appendArtifactDeltaData(expected, artifact, text);
    EXPECT_EQ(event.event, "artifact");
    EXPECT_EQ(event.data, expected) << "event " << event.sequence;
    (artifact == "art_a" ? contentA : contentB) += text;
  }
  EXPECT_EQ(events[4].event, "tool_call");
  auto drafts = log.artifacts();
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].id, "art_b");  // in the order they started
  EXPECT_EQ(drafts[0].content, contentB);
  EXPECT_EQ(drafts[1].content, contentA);
}

TEST(RunLog, DeltasAfterCloseAreDropped) {
  chat::RunLog log;
  log.emitArtifactDelta("art_1", "kept");
  log.close();
  log.emitArtifactDelta("art_1", "dropped");
  EXPECT_EQ(log.events().size(), 1u);
  EXPECT_EQ(log.artifacts().at(0).content, "kept");
}

// The run's end: once sealed, a late event (a tool that outlived its run) is
// dropped, and the last event takes the number the saved log gave it.
TEST(RunLog, ASealedLogTakesOnlyItsLastEvent) {
  chat::RunLog log;
  log.emitJson("thinking", {{"status", "working"}});
  log.emitArtifactDelta("art_1", "kept");
  log.seal();
  log.emitArtifactDelta("art_1", "late");
  log.emitJson("thinking", {{"status", "late"}});
  EXPECT_EQ(log.events().size(), 2u);
  EXPECT_EQ(log.eventCount(), 2u);
  log.finishWith("done", "{\"messageCount\":2}");
  EXPECT_EQ(log.eventCount(), 3u);
  EXPECT_TRUE(log.closed());
  auto events = log.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].sequence, 3);
  EXPECT_EQ(events[2].event, "done");
  EXPECT_EQ(events[2].data, "{\"messageCount\":2}");
  EXPECT_EQ(log.artifacts().at(0).content, "kept");
  log.finishWith("done", "{}");  // once closed, nothing more
  EXPECT_EQ(log.events().size(), 3u);
}

TEST(RunLog, EventsAreReleasedOnlyOnceTheRunIsClosed) {
  chat::RunLog log;
  log.emitJson("thinking", {{"status", "working"}});
  log.releaseEvents();  // still running: kept for reconnects
  EXPECT_FALSE(log.released());
  EXPECT_EQ(log.events().size(), 1u);
  log.close();
  log.releaseEvents();
  EXPECT_TRUE(log.released());
  EXPECT_TRUE(log.events().empty());
  EXPECT_FALSE(log.subscribe(nullptr, 0)) << "a released log sends nothing: the caller replays from the store";
}

class CountingWriter final : public DeferredWriter {
 public:
  void flushDeferred() override { ++flushes; }
  int flushes = 0;
};

TEST(OutputBatch, OutsideABatchWritersWriteAtOnce) {
  auto writer = std::make_shared<CountingWriter>();
  EXPECT_FALSE(OutputBatch::defer(writer));
  EXPECT_EQ(writer->flushes, 0);
}

TEST(OutputBatch, DeferredWritersFlushWhenTheOutermostBatchCloses) {
  auto writer = std::make_shared<CountingWriter>();
  {
    OutputBatch outer;
    {
      OutputBatch inner;
      EXPECT_TRUE(OutputBatch::defer(writer));
    }
    EXPECT_EQ(writer->flushes, 0);  // the inner batch joined the outer one
    EXPECT_TRUE(OutputBatch::defer(writer));
  }
  EXPECT_EQ(writer->flushes, 2);
  EXPECT_FALSE(OutputBatch::defer(writer));  // closed
}

TEST(OutputBatch, ABatchBelongsToItsThread) {
  auto writer = std::make_shared<CountingWriter>();
  OutputBatch mine;
  bool deferredElsewhere = true;
  std::thread other([&] { deferredElsewhere = OutputBatch::defer(writer); });
  other.join();
  EXPECT_FALSE(deferredElsewhere);
}

TEST(OutputBatch, AFlushThatWritesMoreWritesAtOnce) {
  struct Chaining final : DeferredWriter {
    void flushDeferred() override { deferredAgain = OutputBatch::defer(std::make_shared<CountingWriter>()); }
    bool deferredAgain = true;
  };
  auto writer = std::make_shared<Chaining>();
  { OutputBatch batch; OutputBatch::defer(writer); }
  EXPECT_FALSE(writer->deferredAgain);
}

// A worker task is a batch: a graph step's status events to one client leave
// in one write when the task returns, not one write each.
TEST(OutputBatch, AWorkerTaskIsABatch) {
  auto writer = std::make_shared<CountingWriter>();
  WorkerPool workers(1);
  std::promise<std::pair<bool, int>> inside;
  workers.post([&] {
    bool deferred = OutputBatch::defer(writer);
    inside.set_value({deferred, writer->flushes});
  });
  auto [deferred, flushesInside] = inside.get_future().get();
  workers.stop();
  EXPECT_TRUE(deferred);
  EXPECT_EQ(flushesInside, 0);
  EXPECT_EQ(writer->flushes, 1);
}

// postFirst goes ahead of the tasks already waiting (not of the one running).
TEST(WorkerPool, PostFirstRunsAheadOfQueuedTasks) {
  WorkerPool workers(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> running;
  std::vector<std::string> order;  // written by the one worker only
  workers.post([&] {
    running.set_value();
    released.wait();
    order.push_back("running");
  });
  running.get_future().wait();
  workers.post([&] { order.push_back("queued 1"); });
  workers.post([&] { order.push_back("queued 2"); });
  workers.postFirst([&] { order.push_back("first"); });
  release.set_value();
  workers.stop();
  EXPECT_EQ(order, (std::vector<std::string>{"running", "first", "queued 1", "queued 2"}));
}

// Once stop() has begun, post says the task was not taken: a task that posts
// more while the pool drains learns its follow-up will not run (the save queue
// then saves the rest itself).
TEST(WorkerPool, APostDuringStopIsRefusedAndSaysSo) {
  WorkerPool workers(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> running;
  bool followUpTaken = true, followUpRan = false;
  EXPECT_TRUE(workers.post([&] {
    running.set_value();
    released.wait();
    followUpTaken = workers.post([&] { followUpRan = true; });
  }));
  running.get_future().wait();
  std::thread stopper([&] { workers.stop(); });  // drains the running task, then joins
  while (workers.post([] {})) std::this_thread::yield();  // until stop() has begun
  release.set_value();
  stopper.join();
  EXPECT_FALSE(followUpTaken);
  EXPECT_FALSE(followUpRan);
  EXPECT_FALSE(workers.post([] {}));
}

// At shutdown, work that must not be lost (a run's last save) is done on the
// calling thread once the pool takes no more.
TEST(WorkerPool, RunHereOrPostRunsOnTheCallerOnceThePoolIsStopping) {
  WorkerPool workers(1);
  workers.stop();
  std::thread::id ranOn;
  workers.runHereOrPost([&] { ranOn = std::this_thread::get_id(); });
  EXPECT_EQ(ranOn, std::this_thread::get_id());
}

// A worker's own next task wakes no other worker (the worker takes it when its
// current task returns); two waiting tasks still run side by side.
TEST(WorkerPool, AWorkersOwnNextTaskWakesNoOtherAndTwoRunSideBySide) {
  WorkerPool workers(2);
  std::promise<std::pair<uint64_t, uint64_t>> wakeUps;  // before and after the inner post
  std::promise<void> ran;
  workers.post([&] {
    uint64_t before = workers.wakeUps();
    workers.post([&] { ran.set_value(); });
    wakeUps.set_value({before, workers.wakeUps()});
  });
  auto [before, after] = wakeUps.get_future().get();
  EXPECT_EQ(after, before);  // no worker woken for it
  ran.get_future().wait();   // and it ran (on whichever worker looked at the queue first)

  // Each of the two waits until both have started: it completes only if a second worker is woken.
  std::mutex mutex;
  std::condition_variable changed;
  int started = 0;
  std::promise<void> bothRan;
  std::atomic<int> finished{0};
  auto meet = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    ++started;
    changed.notify_all();
    bool met = changed.wait_for(lock, std::chrono::seconds(5), [&] { return started == 2; });
    lock.unlock();
    EXPECT_TRUE(met) << "the two tasks did not run side by side";
    if (++finished == 2) bothRan.set_value();
  };
  workers.post([&] {
    workers.post(meet);
    workers.post(meet);
  });
  bothRan.get_future().wait();
  workers.stop();
}

using mx::test::spinCpuMs;

// A charged task's CPU time goes to its counter, an uncharged task's to no
// one (not to the charged task after it), and outside a pool's task the call
// does nothing.
TEST(WorkerPool, ATaskChargesItsCpuTimeToTheCounterItNames) {
  std::atomic<int64_t> first{0}, second{0}, outside{0};
  WorkerPool::chargeCurrentTaskTo(outside);
  spinCpuMs(5);
  {
    WorkerPool workers(1);
    workers.post([&] {
      WorkerPool::chargeCurrentTaskTo(first);
      spinCpuMs(20);
    });
    workers.post([&] { spinCpuMs(40); });  // nobody's
    workers.post([&] {
      WorkerPool::chargeCurrentTaskTo(second);
      spinCpuMs(10);
    });
    workers.stop();
  }
  EXPECT_EQ(outside.load(), 0);
  EXPECT_GE(first.load(), 20'000'000);
  EXPECT_LT(first.load(), 35'000'000);
  EXPECT_GE(second.load(), 10'000'000);
  EXPECT_LT(second.load(), 25'000'000) << "the uncharged task's 40 ms went to the next charged one";
}

}  // namespace
}  // namespace mx::host
