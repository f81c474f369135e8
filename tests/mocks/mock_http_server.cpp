#include "mock_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mx::test {

namespace {

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 529: return "Overloaded";
    default: return "Status";
  }
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

void MockResponse::write(std::string_view data) {
  if (schedule_ != nullptr) {  // writes at the same moment leave together
    if (schedule_->empty() || schedule_->back().at != offset_ || schedule_->back().closeAfter) schedule_->push_back({offset_, {}});
    schedule_->back().bytes.append(data);
    return;
  }
  while (!data.empty() && !failed_) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      failed_ = true;
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

static std::string statusAndHeaders(int status, const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  for (const auto& [name, value] : headers) {
    out += name + ": " + value + "\r\n";
  }
  return out;
}

void MockResponse::send(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view body) {
  std::string head = statusAndHeaders(status, headers);
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  write(head);
  write(body);
}

void MockResponse::begin(int status, const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string head = statusAndHeaders(status, headers);
  head += "Transfer-Encoding: chunked\r\n\r\n";
  write(head);
}

std::string frameChunk(std::string_view data) {
  char size[24];
  char* end = std::to_chars(size, size + 20, data.size(), 16).ptr;
  std::string frame;
  frame.reserve(static_cast<size_t>(end - size) + data.size() + 4);
  frame.append(size, end).append("\r\n").append(data).append("\r\n");
  return frame;
}

void MockResponse::chunk(std::string_view data) {
  if (!data.empty()) write(frameChunk(data));
}

void MockResponse::framed(std::string_view chunks) { write(chunks); }

void MockResponse::end() { write("0\r\n\r\n"); }

void MockResponse::reset() {
  if (schedule_ != nullptr) {
    schedule_->push_back({offset_, {}, true});
    closed_ = true;
    return;
  }
  linger option{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  ::shutdown(fd_, SHUT_RDWR);
  closed_ = true;
}

void MockResponse::close() {
  if (schedule_ != nullptr) {
    schedule_->push_back({offset_, {}, true});
    closed_ = true;
    return;
  }
  ::shutdown(fd_, SHUT_RDWR);
  closed_ = true;
}

MockHttpServer::MockHttpServer(Handler handler) : handler_(std::move(handler)) {
  listenFd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listenFd_, 1024) != 0) {
    throw std::runtime_error("mock server: cannot listen");
  }
  socklen_t length = sizeof address;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptThread_ = std::thread([this] { acceptLoop(); });
}

MockHttpServer::~MockHttpServer() { stop(); }

void MockHttpServer::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  ::shutdown(listenFd_, SHUT_RDWR);
  acceptThread_.join();
  ::close(listenFd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : openFds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
    threads.swap(connectionThreads_);
  }
  for (auto& thread : threads) {
    thread.join();
  }
}

std::vector<MockRequest> MockHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

size_t MockHttpServer::requestCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_.size();
}

void MockHttpServer::acceptLoop() {
  while (!stopping_) {
    int fd = accept(listenFd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_;
    std::lock_guard<std::mutex> lock(mutex_);
    openFds_.push_back(fd);
    connectionThreads_.emplace_back([this, fd] { serveConnection(fd); });
  }
}

void MockHttpServer::serveConnection(int fd) {
  std::string buffer;
  char chunk[65536];
  for (;;) {
    size_t headerEnd;
    while ((headerEnd = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        goto done;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    MockRequest request = parseRequestHead(std::string_view(buffer).substr(0, headerEnd));
    size_t contentLength = request.headers.count("content-length") ? std::stoul(request.headers["content-length"]) : 0;
    buffer.erase(0, headerEnd + 4);
    while (buffer.size() < contentLength) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        goto done;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    request.body = buffer.substr(0, contentLength);
    buffer.erase(0, contentLength);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    MockResponse response(fd);
    handler_(request, response);
    if (response.closed() || response.failed() || stopping_) {
      break;
    }
  }
done:
  {
    std::lock_guard<std::mutex> lock(mutex_);
    openFds_.erase(std::remove(openFds_.begin(), openFds_.end(), fd), openFds_.end());
  }
  ::close(fd);
}

MockRequest parseRequestHead(std::string_view headText) {
  MockRequest request;
  std::istringstream head{std::string(headText)};
  std::string line;
  std::getline(head, line);
  std::istringstream requestLine(line);
  std::string target;
  requestLine >> request.method >> target;
  auto question = target.find('?');
  request.path = target.substr(0, question);
  request.query = question == std::string::npos ? "" : target.substr(question + 1);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request.headers[lower(line.substr(0, colon))] = value;
  }
  return request;
}

std::vector<std::string> splitAt(std::string_view body, const std::vector<size_t>& offsets) {
  std::vector<std::string> pieces;
  size_t start = 0;
  for (size_t offset : offsets) {
    if (offset <= start || offset >= body.size()) continue;
    pieces.emplace_back(body.substr(start, offset - start));
    start = offset;
  }
  pieces.emplace_back(body.substr(start));
  return pieces;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace mx::test
