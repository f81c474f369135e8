// The SDK's value types: Status/Result, cancellation, the front-door check.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "mx/cancel.hpp"
#include "mx/model.hpp"
#include "mx/plugin.hpp"
#include "mx/record_id.hpp"
#include "mx/status.hpp"
#include "mx/store.hpp"
#include "plugins/plugin_loader.hpp"

namespace mx {
namespace {

TEST(RecordId, IsThePrefixTheMillisecondsThenSixtyFourRandomBitsInHex) {
  EXPECT_EQ(recordIdAt("conv_", 0x0193a4f2c81bULL, 0x5e7d2a9c04f1e3b6ULL), "conv_0193a4f2c81b5e7d2a9c04f1e3b6");
  EXPECT_EQ(recordIdAt("art_", 0, 0), "art_" + std::string(28, '0'));
  EXPECT_EQ(recordIdAt("", 0xFFFFFFFFFFFFULL, ~0ULL), std::string(28, 'f'));
}

// Later ids sort after earlier ones whatever their random part, so that an
// index on them grows at one edge; ids of the same millisecond stay distinct.
TEST(RecordId, LaterIdsSortAfterEarlierOnesAndNoneRepeat) {
  EXPECT_LT(recordIdAt("msg_", 1700000000000ULL, ~0ULL), recordIdAt("msg_", 1700000000001ULL, 0));
  EXPECT_LT(recordIdAt("msg_", 0x0fffffffffffULL, ~0ULL), recordIdAt("msg_", 0x100000000000ULL, 0));  // a digit carried
  auto millisNow = [] {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  };
  uint64_t before = millisNow();
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(newRecordId("run_"));
  uint64_t after = millisNow();
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), ids.size());
  for (size_t i = 1; i < ids.size(); ++i) {
    ASSERT_LE(ids[i - 1].substr(0, 16), ids[i].substr(0, 16)) << "the clock part went back at " << i;
  }
  // The clock part is the wall clock's milliseconds when the id was made.
  EXPECT_GE(ids.front().substr(4, 12), recordIdAt("", before, 0).substr(0, 12));
  EXPECT_LE(ids.back().substr(4, 12), recordIdAt("", after, 0).substr(0, 12));
  EXPECT_EQ(ids.back().size(), 4u + 28u);
}

TEST(Status, CarriesCodeMessageAndRetryMeaning) {
  Status ok;
  EXPECT_TRUE(ok.isOk());
  Status limited = resourceExhaustedError("429 from anthropic");
  EXPECT_EQ(limited.code(), Code::ResourceExhausted);
  EXPECT_EQ(limited.toString(), "resource_exhausted: 429 from anthropic");
  EXPECT_TRUE(isRetryable(limited.code()));
  EXPECT_FALSE(isRetryable(Code::InvalidArgument));
  EXPECT_FALSE(isRetryable(Code::FailedPrecondition));
  EXPECT_EQ(limited.withContext("tier 1").message(), "tier 1: 429 from anthropic");
  EXPECT_EQ(limited.withContext("tier 1").code(), Code::ResourceExhausted);
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> value = 42;
  ASSERT_TRUE(value.isOk());
  EXPECT_EQ(*value, 42);
  Result<int> error = notFoundError("nope");
  EXPECT_FALSE(error.isOk());
  EXPECT_EQ(error.status().code(), Code::NotFound);
  EXPECT_EQ(error.valueOr(7), 7);
  Result<int> misuse = Status::ok();
  EXPECT_EQ(misuse.status().code(), Code::Internal);
}

TEST(Cancellation, CallbacksRunOnceOnCancel) {
  CancellationSource source;
  auto token = source.token();
  int calls = 0;
  auto subscription = token.onCancel([&] { ++calls; });
  EXPECT_FALSE(token.isCancelled());
  EXPECT_TRUE(source.cancel("client went away"));
  EXPECT_FALSE(source.cancel("again"));
  EXPECT_TRUE(token.isCancelled());
  EXPECT_EQ(token.reason(), "client went away");
  EXPECT_EQ(calls, 1);
}

TEST(Cancellation, SubscribingAfterCancelRunsImmediately) {
  CancellationSource source;
  source.cancel();
  bool ran = false;
  auto subscription = source.token().onCancel([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(Cancellation, DroppedSubscriptionNeverRuns) {
  CancellationSource source;
  bool ran = false;
  { auto subscription = source.token().onCancel([&] { ran = true; }); }
  source.cancel();
  EXPECT_FALSE(ran);
}

TEST(Cancellation, DefaultTokenIsNeverCancelled) {
  CancellationToken token;
  EXPECT_FALSE(token.isCancelled());
  auto subscription = token.onCancel([] { FAIL() << "must not run"; });
}

TEST(Cancellation, UnsubscribeWaitsForARunningCallback) {
  for (int round = 0; round < 200; ++round) {
    CancellationSource source;
    std::atomic<bool> inCallback{false};
    std::atomic<bool> finished{false};
    auto subscription = std::make_unique<Subscription>(source.token().onCancel([&] {
      inCallback = true;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      finished = true;
    }));
    std::thread canceller([&] { source.cancel(); });
    while (!inCallback && !source.isCancelled()) {
    }
    subscription.reset();
    // After reset returns, the callback is not running: either it finished or never started.
    EXPECT_TRUE(finished || !inCallback);
    canceller.join();
  }
}

TEST(FrontDoor, HostAcceptsItsOwnAbi) {
  mx_plugin_abi_block block = {sizeof(mx_plugin_abi_block), MX_PLUGIN_MAGIC, MX_ABI_MAJOR, MX_ABI_MINOR,
                               MX_TOOLCHAIN_TAG, "x", "1", ""};
  EXPECT_TRUE(host::checkAbiBlock(&block, "x.so").isOk());
  block.abi_minor = 0;
  EXPECT_TRUE(host::checkAbiBlock(&block, "x.so").isOk());
}

TEST(FrontDoor, RefusesEachIncompatibility) {
  mx_plugin_abi_block base = {sizeof(mx_plugin_abi_block), MX_PLUGIN_MAGIC, MX_ABI_MAJOR, MX_ABI_MINOR,
                              MX_TOOLCHAIN_TAG, "x", "1", ""};
  auto message = [](mx_plugin_abi_block b) { return host::checkAbiBlock(&b, "x.so").message(); };

  auto bad = base;
  bad.magic = 1;
  EXPECT_NE(message(bad).find("bad magic"), std::string::npos);
  bad = base;
  bad.size = 8;
  EXPECT_NE(message(bad).find("ABI block too small"), std::string::npos);
  bad = base;
  bad.abi_major = MX_ABI_MAJOR + 1;
  EXPECT_NE(message(bad).find("ABI major version mismatch"), std::string::npos);
  bad = base;
  bad.toolchain = "clang-17/libc++";
  EXPECT_NE(message(bad).find("plugin sdk-abi " + std::to_string(MX_ABI_MAJOR) + "." + std::to_string(MX_ABI_MINOR) + " (clang-17/libc++)"),
            std::string::npos);
  bad = base;
  bad.name = "";
  EXPECT_NE(message(bad).find("no plugin name"), std::string::npos);
  EXPECT_NE(host::checkAbiBlock(nullptr, "x.so").message().find("returned no ABI block"), std::string::npos);
}

}  // namespace
}  // namespace mx

namespace mx {
namespace {

TEST(Checkpoints, TheTextIsTheJsonOfTheCheckpoint) {
  Checkpoint c;
  c.threadId = "conv \"1\"";
  c.runId = "run_1";
  c.step = 3;
  c.status = "interrupted";
  c.state = {{"messages", Json::array({{{"role", "user"}, {"content", "hi\nthere"}}})}, {"count", 2}};
  c.next = {"tools", "model"};
  c.joins = {{"brief", {"research"}}};
  c.error = "";
  c.interruptedAt = "before:tools";
  c.createdAtMs = 1700000000000;
  EXPECT_EQ(checkpointText(c), toJson(c).dump());
  Checkpoint empty;
  EXPECT_EQ(checkpointText(empty), toJson(empty).dump());
  EXPECT_EQ(checkpointFromJson(Json::parse(checkpointText(c))).state, c.state);
  size_t stateAt = 0, stateLength = 0;
  std::string text = checkpointText(c, &stateAt, &stateLength);
  EXPECT_EQ(text, toJson(c).dump());
  EXPECT_EQ(text.substr(stateAt, stateLength), c.state.dump());
  c.error = "tool \"x\" failed:\ttimeout \xE2\x82\xAC";
  c.next = {"one"};
  c.state["score"] = 0.1 + 0.2;
  EXPECT_EQ(checkpointText(c), toJson(c).dump());
  c.error = "cut \xE2\x82";  // where dump() throws, the text says U+FFFD
  EXPECT_EQ(checkpointFromJson(Json::parse(checkpointText(c))).error, "cut \xEF\xBF\xBD\xEF\xBF\xBD");
}

std::vector<RunEvent> sampleEvents() {
  return {{1, "thinking", R"({"content":"Planning \"the\" campaign","type":"agent_reasoning"})"},
          {2, "artifact", "{\"artifactId\":\"art_1\",\"content\":\"caf\xC3\xA9 \xF0\x9F\x9A\x80\\n\",\"type\":\"delta\"}"},
          {3, "message", "two\nlines"},
          {4, "empty", ""},
          {5, "done", "{}"}};
}

TEST(RunEvents, ABatchIsWrittenAsLengthPrefixedTextAndReadBackExactly) {
  auto events = sampleEvents();
  std::string text = runEventsText(events);
  EXPECT_EQ(text.rfind(kRunEventsTextHeader, 0), 0u);
  // The data as it is, not escaped, behind its length.
  EXPECT_NE(text.find("1 thinking " + std::to_string(events[0].data.size()) + "\n" + events[0].data + "\n2 artifact "), std::string::npos) << text;
  std::vector<RunEvent> read;
  ASSERT_TRUE(readRunEvents(text, 0, read));
  ASSERT_EQ(read.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(read[i].sequence, events[i].sequence);
    EXPECT_EQ(read[i].event, events[i].event);
    EXPECT_EQ(read[i].data, events[i].data);
  }
  std::vector<RunEvent> after;
  ASSERT_TRUE(readRunEvents(text, 3, after));
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].sequence, 4);
}

TEST(RunEvents, BatchesOfTheEarlierFormatAndOddEventsStillReadBack) {
  auto events = sampleEvents();
  std::vector<RunEvent> read;
  ASSERT_TRUE(readRunEvents(runEventsJson(events), 0, read));  // saved by an earlier version
  EXPECT_EQ(read.size(), events.size());
  EXPECT_EQ(read[1].data, events[1].data);
  // Data a text column would refuse, and names the format cannot hold, take the escaped form.
  for (RunEvent odd : {RunEvent{6, "message", std::string("nul \0 byte", 10)}, RunEvent{6, "message", "bad \xFF utf-8"},
                       RunEvent{6, "two words", "{}"}, RunEvent{6, "", "{}"}}) {
    auto withOdd = events;
    withOdd.push_back(odd);
    std::string text = runEventsText(withOdd);
    EXPECT_EQ(text.front(), '[') << odd.event;
    std::vector<RunEvent> back;
    ASSERT_TRUE(readRunEvents(text, 0, back));
    EXPECT_EQ(back.size(), withOdd.size());
  }
}

// The writer the host uses for a run's log: one event at a time; an event
// that needs the escaped form in the middle turns the whole batch escaped,
// the events before it included.
TEST(RunEvents, ABatchWrittenEventByEventKeepsItsRangeAndEveryEvent) {
  EXPECT_TRUE(RunEventBatchWriter().finish().empty());
  EXPECT_TRUE(eventsOf(RunEventBatch{}).empty());
  auto events = sampleEvents();
  for (auto& e : events) e.sequence += 10;
  RunEventBatch plain = runEventBatch(events);
  EXPECT_EQ(plain.text, runEventsText(events));
  EXPECT_EQ(plain.text.rfind(kRunEventsTextHeader, 0), 0u);
  EXPECT_EQ(plain.firstSequence, 11);
  EXPECT_EQ(plain.lastSequence, 15);
  EXPECT_EQ(plain.count, 5u);

  events.insert(events.begin() + 2, RunEvent{0, "message", std::string("nul \0 byte", 10)});
  for (size_t i = 0; i < events.size(); ++i) events[i].sequence = static_cast<int64_t>(11 + i);
  RunEventBatchWriter writer;
  for (const auto& e : events) writer.add(e.sequence, e.event, e.data);
  RunEventBatch escaped = std::move(writer).finish();
  EXPECT_EQ(escaped.text.front(), '[');
  EXPECT_EQ(escaped.count, 6u);
  auto back = eventsOf(escaped);
  ASSERT_EQ(back.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(back[i].sequence, events[i].sequence);
    EXPECT_EQ(back[i].event, events[i].event);
    EXPECT_EQ(back[i].data, events[i].data);
  }
}

// Wherever a NUL byte or invalid UTF-8 falls (in or around the sixteen-byte
// steps of the check), the batch takes the escaped form; valid UTF-8 anywhere
// keeps the text form.
TEST(RunEvents, EveryPositionOfAnUnstorableByteIsNoticed) {
  for (size_t at = 0; at < 40; ++at) {
    std::string base(40, 'x');
    std::string nul = base, invalid = base, accented = base;
    nul[at] = '\0';
    invalid[at] = '\xFF';
    accented.replace(at, 1, "\xC3\xA9");
    EXPECT_EQ(runEventsText({{1, "message", nul}}).front(), '[') << at;
    EXPECT_EQ(runEventsText({{1, "message", invalid}}).front(), '[') << at;
    EXPECT_EQ(runEventsText({{1, "message", accented}}).rfind(kRunEventsTextHeader, 0), 0u) << at;
  }
}

// An artifact's deltas are kept as their text and read back as the events the
// run sent: "artifact" with {"artifactId","content","type":"delta"}.
TEST(RunEvents, ArtifactDeltasAreKeptAsTheirTextAndReadBackAsTheirEvents) {
  RunEventBatchWriter writer;
  writer.add(1, "artifact", R"({"artifactId":"art_1","metadata":{},"type":"start"})");
  const std::vector<std::string> texts = {"Spring ", "\"sale\"\n", "caf\xC3\xA9 \xF0\x9F\x9A\x80", "", "tab\there"};
  for (size_t i = 0; i < texts.size(); ++i) writer.addArtifactDelta(static_cast<int64_t>(2 + i), "art_1", texts[i]);
  writer.add(7, "done", "{}");
  RunEventBatch batch = std::move(writer).finish();
  EXPECT_EQ(batch.text.rfind(kRunEventsTextHeader, 0), 0u);
  EXPECT_EQ(batch.count, 7u);
  EXPECT_NE(batch.text.find("\n3 artifact~art_1 7\n\"sale\"\n\n"), std::string::npos) << batch.text;
  auto back = eventsOf(batch);
  ASSERT_EQ(back.size(), 7u);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(back[1 + i].sequence, static_cast<int64_t>(2 + i));
    EXPECT_EQ(back[1 + i].event, "artifact");
    EXPECT_EQ(back[1 + i].data, Json({{"type", "delta"}, {"artifactId", "art_1"}, {"content", texts[i]}}).dump());
  }
  EXPECT_EQ(back[6].event, "done");
  std::vector<RunEvent> after;
  ASSERT_TRUE(readRunEvents(batch.text, 4, after));
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].data, back[4].data);

  // A delta that cannot be kept as text (a NUL byte, an id with a space) turns the batch escaped,
  // the deltas before it included; the events read back the same.
  for (auto [id, text] : {std::pair<std::string, std::string>{"art_1", std::string("nul \0", 5)}, {"art 1", "x"}, {"", "x"}}) {
    RunEventBatchWriter odd;
    odd.addArtifactDelta(1, "art_1", "before");
    odd.addArtifactDelta(2, id, text);
    RunEventBatch escaped = std::move(odd).finish();
    EXPECT_EQ(escaped.text.front(), '[');
    auto events = eventsOf(escaped);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].data, Json({{"type", "delta"}, {"artifactId", "art_1"}, {"content", "before"}}).dump());
    EXPECT_EQ(events[1].data, Json({{"type", "delta"}, {"artifactId", id}, {"content", text}}).dump());
  }
  // A plugin's own event whose name has a '~' is not taken for a delta record.
  RunEventBatch tilde = runEventBatch({{1, "artifact~x", "{}"}});
  EXPECT_EQ(tilde.text.front(), '[');
  EXPECT_EQ(eventsOf(tilde).at(0).event, "artifact~x");
  // Version 1 batches (no delta records) read as before, a '~' in a name included.
  std::vector<RunEvent> v1;
  ASSERT_TRUE(readRunEvents(std::string(kRunEventsTextHeaderV1) + "1 artifact~x 2\n{}\n2 done 2\n{}\n", 0, v1));
  ASSERT_EQ(v1.size(), 2u);
  EXPECT_EQ(v1[0].event, "artifact~x");
  EXPECT_EQ(v1[0].data, "{}");
}

TEST(RunEvents, ABrokenBatchIsRefused) {
  std::string good = runEventsText(sampleEvents());
  for (std::string broken : {good.substr(0, good.size() - 1), good.substr(0, good.size() / 2), std::string(kRunEventsTextHeader) + "x thinking 2\n{}\n",
                             std::string(kRunEventsTextHeader) + "1 thinking 5\n{}\n", std::string(kRunEventsTextHeader) + "1 thinking\n{}\n",
                             std::string(kRunEventsTextHeader) + "1  2\n{}\n", std::string("[[1,")}) {
    std::vector<RunEvent> read;
    EXPECT_FALSE(readRunEvents(broken, 0, read)) << broken;
  }
  std::vector<RunEvent> none;
  EXPECT_TRUE(readRunEvents(kRunEventsTextHeader, 0, none));  // an empty batch
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace mx

TEST(ToolSet, CopiesShareOneListAndAddingMakesANewOne) {
  mx::ToolSet none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.begin(), none.end());
  EXPECT_THROW((void)none.at(0), std::out_of_range);
  EXPECT_TRUE(mx::ToolSet(std::vector<mx::ToolDefinition>{}).empty());

  mx::ToolSet tools = {{"search", "Searches", {{"type", "object"}}}};
  mx::ToolSet copy = tools;
  EXPECT_EQ(copy.identity(), tools.identity());
  EXPECT_EQ(copy.at(0).inputSchema, mx::Json({{"type", "object"}}));
  copy.push_back({"write", "Writes", mx::Json::object()});
  EXPECT_NE(copy.identity(), tools.identity());
  ASSERT_EQ(tools.size(), 1u);  // the first holder keeps its list
  ASSERT_EQ(copy.size(), 2u);
  EXPECT_EQ(copy.front().name, "search");
  EXPECT_EQ(copy.back().name, "write");
  EXPECT_EQ(copy[1].description, "Writes");
  EXPECT_THROW((void)copy.at(2), std::out_of_range);
  size_t seen = 0;
  for (const auto& tool : copy) seen += tool.name.size();
  EXPECT_EQ(seen, 11u);
}

TEST(JsonMembers, AreReferencesIntoTheObjectOrToAnEmptyValue) {
  mx::Json object = {{"list", {1, 2}}, {"map", {{"a", 1}}}, {"text", "x"}};
  EXPECT_EQ(&mx::memberOrNull(object, "list"), &object["list"]);  // the member itself, not a copy
  EXPECT_EQ(&mx::arrayMember(object, "list"), &object["list"]);
  EXPECT_EQ(&mx::objectMember(object, "map"), &object["map"]);
  EXPECT_TRUE(mx::memberOrNull(object, "missing").is_null());
  EXPECT_TRUE(mx::memberOrNull(mx::Json::array({1}), "list").is_null());  // not an object
  EXPECT_EQ(mx::arrayMember(object, "text"), mx::Json::array());         // another type: the empty value
  EXPECT_EQ(mx::arrayMember(object, "missing"), mx::Json::array());
  EXPECT_EQ(mx::objectMember(object, "list"), mx::Json::object());
  EXPECT_EQ(mx::objectMember(mx::Json(), "map"), mx::Json::object());
}

namespace mx {
namespace {

TEST(Messages, EveryBlockTypeRoundTripsThroughJson) {
  Message message;
  message.role = Role::Assistant;
  message.content.push_back(ContentBlock::makeText("Spring sale"));
  message.content.push_back(ContentBlock::makeToolUse("toolu_1", "canon_load", Json{{"type", "email"}}));
  message.content.push_back(ContentBlock::makeToolResult("toolu_1", "{\"templates\":[]}", true));
  ContentBlock thinking;
  thinking.type = BlockType::Thinking;
  thinking.text = "the brief first";
  thinking.signature = "sig";
  message.content.push_back(thinking);

  Message back = messageFromJson(toJson(message));
  EXPECT_EQ(back.role, Role::Assistant);
  ASSERT_EQ(back.content.size(), 4u);
  EXPECT_EQ(back.content[0].text, "Spring sale");
  EXPECT_EQ(back.content[1].id, "toolu_1");
  EXPECT_EQ(back.content[1].name, "canon_load");
  EXPECT_EQ(back.content[1].input, (Json{{"type", "email"}}));
  EXPECT_EQ(back.content[2].type, BlockType::ToolResult);
  EXPECT_EQ(back.content[2].id, "toolu_1");
  EXPECT_EQ(back.content[2].text, "{\"templates\":[]}");
  EXPECT_TRUE(back.content[2].isError);
  EXPECT_EQ(back.content[3].text, "the brief first");
  EXPECT_EQ(back.content[3].signature, "sig");
  EXPECT_EQ(toJson(back), toJson(message));
  Message moved = message;  // from an rvalue: the same JSON, the texts moved out
  EXPECT_EQ(toJson(std::move(moved)), toJson(message));
  ContentBlock block = message.content[1];
  EXPECT_EQ(toJson(std::move(block)), toJson(message.content[1]));
}

TEST(Messages, ALentConversationComesBeforeTheTypedMessages) {
  Json conversation = Json::array({Json{{"role", "user"}, {"content", "one"}}, Json{{"role", "assistant"}, {"content", "two"}},
                                   Json{{"role", "user"}, {"content", "three"}}});
  ChatRequest request;
  request.conversation = {&conversation, 1};
  request.messages = {{Role::Assistant, {ContentBlock::makeText("four")}}};
  EXPECT_EQ(messageCount(request), 3u);
  std::vector<std::string> seen;
  forEachMessage(request, [&seen](const Message& message) { seen.push_back(message.content.at(0).text); });
  EXPECT_EQ(seen, (std::vector<std::string>{"two", "three", "four"}));
  auto all = allMessages(request);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].role, Role::Assistant);
  EXPECT_EQ(all[1].role, Role::User);
  EXPECT_EQ(toJson(all[2]), toJson(request.messages[0]));
  EXPECT_EQ(roleOfJson(Json::array({1})), Role::User);

  // Past the end, not an array, or none: nothing lent.
  for (BorrowedMessages none : {BorrowedMessages{&conversation, 3}, BorrowedMessages{&conversation, 7}, BorrowedMessages{nullptr, 0}}) {
    EXPECT_TRUE(none.empty());
  }
  Json notAnArray = {{"role", "user"}};
  EXPECT_EQ((BorrowedMessages{&notAnArray, 0}).size(), 0u);
}

TEST(Messages, ReadingIsLenientAboutShapesItDoesNotExpect) {
  Message text = messageFromJson(Json{{"role", "user"}, {"content", "hello"}});
  ASSERT_EQ(text.content.size(), 1u);  // a string content is one text block
  EXPECT_EQ(text.content[0].text, "hello");
  EXPECT_EQ(messageFromJson(Json{{"role", 7}, {"content", "x"}}).role, Role::User);  // a role that is not a string
  EXPECT_TRUE(messageFromJson(Json::array({1})).content.empty());                   // not an object at all
  Message odd = messageFromJson(Json::parse(R"({"role":"assistant","content":[
      {"type":"image","source":{}}, 42, {"text":"no type"},
      {"type":"tool_use","id":"t","name":"n"},
      {"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"}],"is_error":"yes"},
      {"type":"text","text":5}]})"));
  ASSERT_EQ(odd.content.size(), 3u);  // the unknown type, the number and the untyped block are skipped
  EXPECT_EQ(odd.content[0].input, Json::object());  // no input: an empty object
  EXPECT_EQ(odd.content[1].text, R"([{"text":"a","type":"text"}])");  // content that is not a string: its JSON text
  EXPECT_FALSE(odd.content[1].isError);  // is_error that is not a boolean reads as absent
  EXPECT_EQ(odd.content[2].text, "");     // text that is not a string reads as absent
}

}  // namespace
}  // namespace mx
