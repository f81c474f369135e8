// Test support: a real redis-server on a free loopback port, without
// persistence, started by the test and stopped when it goes out of scope.
// Thread-safety: none (one test thread). Blocking: start() waits until Redis
// answers PING (at most 2 s).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace mx::test {

// A loopback TCP port that was free a moment ago.
int freePort();

class RedisServer {
 public:
  explicit RedisServer(int port = freePort());
  void start();
  void stop() { process_.reset(); }
  int port() const { return port_; }
  bool answering() const;
  // One command (RESP array of bulk strings); the raw reply, e.g. ":1\r\n".
  std::string command(const std::vector<std::string>& args) const;

 private:
  int port_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace mx::test
