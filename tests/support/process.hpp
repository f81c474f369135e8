// Test support: run a program and capture its output; run a server process
// and learn the port it bound (it prints "listening on http://HOST:PORT").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace mx::test {

struct ProcessResult {
  int exitCode = -1;     // -signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with argv, plus `env` added to this process's environment.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return port_ != 0; }
  int port() const { return port_; }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  const std::string& startupOutput() const { return startupOutput_; }

  // Sends `signal` and waits; returns the exit code (-signal if killed).
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  std::string stderrText() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stdoutFd_ = -1;
  std::string stderrPath_;
  std::string startupOutput_;
  bool stopped_ = false;
};

// A process running in the background (output discarded), to be killed.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~BackgroundProcess();
  // Sends `signal` and waits; returns the exit code (-signal if killed).
  int stop(int signal);

 private:
  pid_t pid_ = -1;
};

// A fresh temporary directory, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace mx::test
