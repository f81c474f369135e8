#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mx::test {

namespace {

std::vector<std::string> mergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) {
      all[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : extra) {
    all[k] = v;
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : all) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env, int outFd,
            int errFd) {
  auto environment = mergedEnvironment(env);
  auto argvPointers = pointers(argv);
  auto envPointers = pointers(environment);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(outFd, 1);
    dup2(errFd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    // The child gets its own process group so a hung server can be killed whole.
    setpgid(0, 0);
    execve(argvPointers[0], argvPointers.data(), envPointers.data());
    std::fprintf(stderr, "exec %s failed: %s\n", argvPointers[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return -WTERMSIG(status);
  }
  return -1;
}

std::string readAll(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

ProcessResult runProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         std::chrono::seconds timeout) {
  int outPipe[2];
  int errPipe[2];
  if (pipe(outPipe) != 0 || pipe(errPipe) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = spawn(argv, env, outPipe[1], errPipe[1]);
  close(outPipe[1]);
  close(errPipe[1]);
  ProcessResult result;
  std::thread errReader([&] { result.err = readAll(errPipe[0]); });
  result.out = readAll(outPipe[0]);
  errReader.join();
  close(outPipe[0]);
  close(errPipe[0]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.exitCode = decodeStatus(status);
  return result;
}

ServerProcess::ServerProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int outPipe[2];
  if (pipe(outPipe) != 0) {
    throw std::runtime_error("pipe failed");
  }
  char pattern[] = "/tmp/mx-server-stderr-XXXXXX";
  int errFd = mkstemp(pattern);
  stderrPath_ = pattern;
  pid_ = spawn(argv, env, outPipe[1], errFd);
  close(outPipe[1]);
  close(errFd);
  stdoutFd_ = outPipe[0];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const std::string marker = "listening on http://";
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{stdoutFd_, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buffer[1024];
      ssize_t n = read(stdoutFd_, buffer, sizeof buffer);
      if (n <= 0) {
        break;  // exited before listening
      }
      startupOutput_.append(buffer, static_cast<size_t>(n));
      auto at = startupOutput_.find(marker);
      auto eol = startupOutput_.find('\n', at == std::string::npos ? 0 : at);
      if (at != std::string::npos && eol != std::string::npos) {
        auto colon = startupOutput_.rfind(':', eol);
        port_ = std::stoi(startupOutput_.substr(colon + 1, eol - colon - 1));
        return;
      }
    }
  }
}

ServerProcess::~ServerProcess() {
  if (!stopped_) {
    stop(SIGKILL, std::chrono::milliseconds(5000));
  }
  if (stdoutFd_ >= 0) {
    close(stdoutFd_);
  }
  std::filesystem::remove(stderrPath_);
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  stopped_ = true;
  if (pid_ <= 0) {
    return -1;
  }
  kill(pid_, signal);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -SIGKILL;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return decodeStatus(status);
}

std::string ServerProcess::stderrText() const {
  std::ifstream in(stderrPath_);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int devnull = open("/dev/null", O_WRONLY);
  pid_ = spawn(argv, env, devnull, devnull);
  close(devnull);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) stop(SIGKILL);
}

int BackgroundProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return decodeStatus(status);
}

TempDir::TempDir() {
  char pattern[] = "/tmp/mx-test-XXXXXX";
  char* made = mkdtemp(pattern);
  if (made == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string file = path_ + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path());
  std::ofstream(file) << content;
  return file;
}

}  // namespace mx::test
