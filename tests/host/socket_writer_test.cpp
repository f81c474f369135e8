// SocketWriter on real sockets: straight to the socket while it takes the
// bytes, then (once full) everything through the fallback, in order; a broken
// connection is a failure, never a SIGPIPE.
#include "net/socket_writer.hpp"

#include "socket_read.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mx::host {
namespace {

struct SocketPair {
  int writer = -1;
  int reader = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    writer = fds[0];
    reader = fds[1];
    ::fcntl(writer, F_SETFL, ::fcntl(writer, F_GETFL) | O_NONBLOCK);
    ::fcntl(reader, F_SETFL, ::fcntl(reader, F_GETFL) | O_NONBLOCK);
  }
  ~SocketPair() {
    if (reader >= 0) ::close(reader);
  }
  std::string drain() const { return test::readAvailable(reader); }
};

TEST(SocketWriter, WritesStraightToTheSocket) {
  SocketPair pair;
  std::string queued;
  SocketWriter writer(pair.writer, [&](std::string bytes) { queued += bytes; });
  EXPECT_EQ(writer.write("id: 1\n\n"), SocketWriter::Outcome::Sent);
  EXPECT_EQ(writer.write(""), SocketWriter::Outcome::Sent);
  EXPECT_EQ(writer.write("id: 2\n\n"), SocketWriter::Outcome::Sent);
  EXPECT_TRUE(writer.direct());
  EXPECT_EQ(pair.drain(), "id: 1\n\nid: 2\n\n");
  EXPECT_TRUE(queued.empty());
}

TEST(SocketWriter, AFullSocketHandsTheRestAndEverythingAfterToTheFallbackInOrder) {
  SocketPair pair;
  std::string queued;
  SocketWriter writer(pair.writer, [&](std::string bytes) { queued += bytes; });
  std::string written;
  int handedOffAt = -1;
  for (int i = 0; i < 200 && handedOffAt < 0; ++i) {
    std::string chunk(10000, static_cast<char>('a' + i % 26));
    written += chunk;
    if (writer.write(chunk) == SocketWriter::Outcome::HandedOff) handedOffAt = i;
  }
  ASSERT_GE(handedOffAt, 0) << "the socket never filled";
  EXPECT_FALSE(writer.direct());
  std::string received = pair.drain();  // the socket has room again: later writes still go to the fallback
  EXPECT_EQ(writer.write("tail"), SocketWriter::Outcome::HandedOff);
  written += "tail";
  EXPECT_EQ(received + queued, written);
  EXPECT_EQ(pair.drain(), "");
}

TEST(SocketWriter, ABrokenConnectionFailsWithoutSigpipe) {
  SocketPair pair;
  ::close(pair.reader);
  pair.reader = -1;
  std::string queued;
  SocketWriter writer(pair.writer, [&](std::string bytes) { queued += bytes; });
  EXPECT_EQ(writer.write("id: 1\n\n"), SocketWriter::Outcome::Failed);  // EPIPE, and the test process lives
  EXPECT_FALSE(writer.direct());
  EXPECT_TRUE(queued.empty());
}

TEST(SocketWriter, WithoutADescriptorEverythingGoesToTheFallback) {
  std::string queued;
  SocketWriter writer(-1, [&](std::string bytes) { queued += bytes; });
  EXPECT_EQ(writer.write("a"), SocketWriter::Outcome::HandedOff);
  EXPECT_EQ(writer.write("b"), SocketWriter::Outcome::HandedOff);
  EXPECT_EQ(queued, "ab");
}

TEST(SocketWriter, ClosingStopsDirectWrites) {
  SocketPair pair;
  std::string queued;
  SocketWriter writer(pair.writer, [&](std::string bytes) { queued += bytes; });
  writer.close();
  writer.close();  // twice is harmless
  EXPECT_EQ(writer.write("late"), SocketWriter::Outcome::HandedOff);
  EXPECT_EQ(pair.drain(), "");
  EXPECT_EQ(queued, "late");
}

}  // namespace
}  // namespace mx::host
