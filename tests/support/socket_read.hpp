// Test support: what a non-blocking socket holds now (reads until it would block).
#pragma once

#include <string>

#include <unistd.h>

namespace mx::test {

inline std::string readAvailable(int fd) {
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

}  // namespace mx::test
