// SseConnection's two-step start on a real socket: begin() opens the chunked
// stream with the given headers; refuse() sends one whole JSON response
// instead; whichever comes first counts (a refusal after begin() only ends the
// stream, a begin() after a refusal writes nothing).
#include "chat/sse_connection.hpp"

#include "chat/run_log.hpp"

#include "socket_read.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mx::host::chat {
namespace {

struct Client {
  std::shared_ptr<Pistache::Tcp::Peer> peer;  // owns the server's end, as Pistache's would
  int reader = -1;
  std::shared_ptr<SseConnection> connection;
  Client() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    peer = Pistache::Tcp::Peer::Create(fds[0], Pistache::Address("127.0.0.1", Pistache::Port(0)));
    reader = fds[1];
    connection = std::make_shared<SseConnection>(peer, ::fcntl(fds[0], F_DUPFD_CLOEXEC, 0));
  }
  ~Client() { ::close(reader); }
  std::string received() const { return test::readAvailable(reader); }
};

// The frames in a chunked body, unwrapped.
std::string unchunked(const std::string& chunks) {
  std::string frames;
  for (size_t at = 0; at < chunks.size();) {
    size_t lineEnd = chunks.find("\r\n", at);
    if (lineEnd == std::string::npos) break;
    size_t size = std::stoul(chunks.substr(at, lineEnd - at), nullptr, 16);
    frames += chunks.substr(lineEnd + 2, size);
    at = lineEnd + 2 + size + 2;
  }
  return frames;
}

// A frame: its id, its event, a "data:" line per line of the data, a blank line;
// appended after what the buffer holds.
TEST(SseConnection, AFrameHasADataLinePerLineOfItsData) {
  std::string out = "before\n";
  SseConnection::appendFrame(out, 7, "thinking", "{\"a\":1}");
  EXPECT_EQ(out, "before\nid: 7\nevent: thinking\ndata: {\"a\":1}\n\n");
  out.clear();
  SseConnection::appendFrame(out, 1234567890123, "message", "one\ntwo\n\nthree");
  EXPECT_EQ(out, "id: 1234567890123\nevent: message\ndata: one\ndata: two\ndata: \ndata: three\n\n");
  out.clear();
  SseConnection::appendFrame(out, 0, "done", "");
  EXPECT_EQ(out, "id: 0\nevent: done\ndata: \n\n");
  out.clear();
  SseConnection::appendFrame(out, 2, "x", "ends with a break\n");
  EXPECT_EQ(out, "id: 2\nevent: x\ndata: ends with a break\ndata: \n\n");
}

TEST(SseConnection, BeginOpensTheStreamAndALateRefusalOnlyEndsIt) {
  Client client;
  client.connection->begin("X-Run-Id: run_1\r\n");
  EXPECT_TRUE(client.connection->frame(1, "thinking", "{\"a\":1}"));
  client.connection->refuse(500, "{\"error\":{}}");
  EXPECT_EQ(client.received(),
            "HTTP/1.1 200 OK\r\nX-Run-Id: run_1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            "25\r\nid: 1\nevent: thinking\ndata: {\"a\":1}\n\n\r\n"
            "0\r\n\r\n");
  EXPECT_TRUE(client.connection->closed());
}

TEST(SseConnection, ARefusalIsOneWholeJsonResponseAndNothingFollows) {
  Client client;
  std::string body = "{\"error\":{\"code\":\"not_found\",\"message\":\"conversation conv_1 not found\",\"requestId\":\"r1\"}}";
  client.connection->refuse(404, body);
  client.connection->begin("X-Run-Id: run_1\r\n");
  EXPECT_FALSE(client.connection->frame(1, "thinking", "{}"));
  EXPECT_EQ(client.received(), "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

// A live stream's artifact delta is escaped straight into the stream's buffer
// (frameOneLine): its bytes are those of frame() with the delta's JSON, line
// breaks and quotes escaped and invalid UTF-8 replaced, and a replay of the
// same events from the log gives the same bytes.
TEST(SseConnection, ALiveArtifactDeltaIsTheFrameOfItsJson) {
  const char* texts[] = {"Sale\n\"now\"\r\n", "", "\xE2\x82\xAC" "5 \xFF\\", "plain text"};
  Client live;
  live.connection->begin({});
  RunLog log;
  ASSERT_TRUE(log.subscribe(live.connection, 0));
  live.received();
  std::string expected;
  int64_t id = 0;
  log.emitJson("thinking", {{"content", "a"}});
  SseConnection::appendFrame(expected, ++id, "thinking", "{\"content\":\"a\"}");
  for (const char* text : texts) {
    log.emitArtifactDelta("art_1", text);
    std::string data;
    appendArtifactDeltaData(data, "art_1", text);
    SseConnection::appendFrame(expected, ++id, "artifact", data);
  }
  std::string frames = unchunked(live.received());  // each event was sent alone: one chunk each
  EXPECT_EQ(frames, expected);

  Client replayed;
  replayed.connection->begin({});
  ASSERT_TRUE(log.subscribe(replayed.connection, 0));
  std::string replay = replayed.received();
  EXPECT_NE(replay.find(expected), std::string::npos);
}

// A reconnect replays exactly the events after its Last-Event-ID, wherever
// that falls: inside a run of one artifact's deltas (kept as one entry), at a
// run's edge, between artifacts, after a delta that came as JSON.
TEST(RunLog, AReplayAfterAnyIdSendsExactlyTheEventsAfterIt) {
  RunLog log;
  log.emitJson("thinking", {{"content", "a"}});
  log.emitArtifactDelta("art_a", "one ");
  log.emitArtifactDelta("art_a", "");
  log.emitArtifactDelta("art_a", std::string(300, 'x'));  // a length of two varint bytes
  log.emitJson("tool_call", {{"name", "validate"}});
  log.emitArtifactDelta("art_a", "two\n");
  log.emitArtifactDelta("art_b", "\xE2\x82\xAC");
  log.emitArtifactDelta("art_b", "\"b\"");
  log.emitArtifactDelta("art_a", "three");
  log.emitJson("artifact", {{"type", "delta"}, {"artifactId", "art_a"}, {"content", " json "}});
  log.emitArtifactDelta("art_a", "four");
  log.emitArtifactDelta("art_a", std::string(20000, 'y'));
  auto events = log.events();
  ASSERT_EQ(events.size(), 12u);
  EXPECT_EQ(log.eventCount(), 12u);
  for (int64_t afterId = 0; afterId <= 12; ++afterId) {
    std::string expected;
    for (const auto& event : events) {
      if (event.sequence > afterId) SseConnection::appendFrame(expected, event.sequence, event.event, event.data);
    }
    Client client;
    client.connection->begin({});
    client.received();
    ASSERT_TRUE(log.subscribe(client.connection, afterId));
    EXPECT_EQ(unchunked(client.received()), expected) << "after " << afterId;
  }
  std::string delta;
  appendArtifactDeltaData(delta, "art_a", std::string(300, 'x'));
  EXPECT_EQ(events[3].data, delta);
  EXPECT_EQ(events[9].data, Json({{"type", "delta"}, {"artifactId", "art_a"}, {"content", " json "}}).dump());
  auto drafts = log.artifacts();
  ASSERT_EQ(drafts.size(), 2u);
  EXPECT_EQ(drafts[0].content, "one " + std::string(300, 'x') + "two\nthree json four" + std::string(20000, 'y'));
  EXPECT_EQ(drafts[1].content, "\xE2\x82\xAC\"b\"");
}

// A heartbeat goes to a stream only when no event went out since the last
// check (the housekeeper's, once a second): an event resets the count.
TEST(RunLogHeartbeat, OnlyAStreamSilentSinceTheLastCheckGetsAPing) {
  Client client;
  client.connection->begin("X-Run-Id: run_1\r\n");
  RunLog log;
  ASSERT_TRUE(log.subscribe(client.connection, 0));
  log.emitJson("thinking", {{"content", "a"}});
  client.received();
  log.heartbeat(std::chrono::seconds(0));  // an event since the last check: silence starts now
  EXPECT_EQ(client.received(), "");
  log.heartbeat(std::chrono::seconds(0));
  EXPECT_NE(client.received().find(": ping"), std::string::npos);
  log.heartbeat(std::chrono::hours(1));  // silent, but not for an hour
  EXPECT_EQ(client.received(), "");
  log.emitJson("thinking", {{"content", "b"}});
  client.received();
  log.heartbeat(std::chrono::seconds(0));
  EXPECT_EQ(client.received(), "");
}

}  // namespace
}  // namespace mx::host::chat
