#include "net/socket_writer.hpp"

#include <cerrno>

#include <sys/socket.h>
#include <unistd.h>

namespace mx::host {

SocketWriter::SocketWriter(int fd, Fallback fallback) : fd_(fd), fallback_(std::move(fallback)) {}

SocketWriter::~SocketWriter() { close(); }

void SocketWriter::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

SocketWriter::Outcome SocketWriter::write(std::string bytes) {
  if (bytes.empty()) return Outcome::Sent;
  if (!direct()) {
    fallback_(std::move(bytes));
    return Outcome::HandedOff;
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      close();  // the fallback has the stream from here on
      fallback_(bytes.substr(sent));
      return Outcome::HandedOff;
    } else {
      close();
      return Outcome::Failed;
    }
  }
  return Outcome::Sent;
}

}  // namespace mx::host
