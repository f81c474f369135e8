#include "redis_cache.hpp"

namespace mx::redis {

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

timeval toTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

struct RedisCache::Connection {
  redisContext* context = nullptr;
  ~Connection() {
    if (context != nullptr) redisFree(context);
  }
};

RedisCache::RedisCache(RedisConfig config, Logger* logger) : config_(std::move(config)), logger_(logger) {}
RedisCache::~RedisCache() = default;

Status RedisCache::down(const std::string& why) {
  pausedUntilMs_ = nowMs() + config_.retryPause.count();
  return unavailableError("redis " + config_.host + ":" + std::to_string(config_.port) + ": " + why);
}

Result<std::unique_ptr<RedisCache::Connection>> RedisCache::connect() {
  auto connection = std::make_unique<Connection>();
  connection->context = redisConnectWithTimeout(config_.host.c_str(), config_.port, toTimeval(config_.connectTimeout));
  if (connection->context == nullptr || connection->context->err) {
    return down(connection->context ? connection->context->errstr : "cannot allocate a connection");
  }
  redisSetTimeout(connection->context, toTimeval(config_.commandTimeout));
  auto handshake = [&](const std::vector<std::string>& argv) -> Status {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(redisCommandArgv(connection->context, static_cast<int>(args.size()), args.data(), lengths.data()));
    if (reply == nullptr) return down(connection->context->errstr);
    bool failed = reply->type == REDIS_REPLY_ERROR;
    std::string message = failed ? std::string(reply->str, reply->len) : "";
    freeReplyObject(reply);
    return failed ? failedPreconditionError("redis refused " + argv[0] + ": " + message) : Status::ok();
  };
  if (!config_.password.empty()) MX_RETURN_IF_ERROR(handshake({"AUTH", config_.password}));
  if (config_.database != 0) MX_RETURN_IF_ERROR(handshake({"SELECT", std::to_string(config_.database)}));
  return connection;
}

std::unique_ptr<RedisCache::Connection> RedisCache::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty() || outstanding_ < config_.poolSize; });
  ++outstanding_;
  if (idle_.empty()) return nullptr;  // the caller connects a new one
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return connection;
}

void RedisCache::release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --outstanding_;
    if (connection) idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

Result<std::shared_ptr<redisReply>> RedisCache::run(const std::vector<std::string>& argv) {
  if (nowMs() < pausedUntilMs_.load()) {
    return unavailableError("redis " + config_.host + ":" + std::to_string(config_.port) + " is down (retrying after a pause)");
  }
  auto connection = acquire();
  if (!connection) {
    auto made = connect();
    if (!made) {
      release(nullptr);
      return made.status();
    }
    connection = std::move(*made);
  }
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(redisCommandArgv(connection->context, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (reply == nullptr) {
    std::string why = connection->context->errstr;
    release(nullptr);  // a broken connection is dropped, not pooled
    return down(why);
  }
  release(std::move(connection));
  std::shared_ptr<redisReply> owned(reply, freeReplyObject);
  if (reply->type == REDIS_REPLY_ERROR) return internalError("redis " + argv[0] + ": " + std::string(reply->str, reply->len));
  return owned;
}

Result<std::optional<std::string>> RedisCache::get(std::string_view key) {
  auto reply = run({"GET", config_.keyPrefix + std::string(key)});
  if (!reply) return reply.status();
  if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<std::string>();
  return std::optional<std::string>(std::string((*reply)->str, (*reply)->len));
}

Status RedisCache::set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return invalidArgumentError("cache TTL must be positive");
  auto reply = run({"SET", config_.keyPrefix + std::string(key), std::string(value), "PX", std::to_string(ttl.count())});
  return reply.status();
}

Status RedisCache::erase(std::string_view key) { return run({"DEL", config_.keyPrefix + std::string(key)}).status(); }

Status RedisCache::erasePrefix(std::string_view prefix) {
  std::string pattern = config_.keyPrefix + std::string(prefix);
  std::string escaped;
  for (char c : pattern) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  std::string cursor = "0";
  do {
    auto reply = run({"SCAN", cursor, "MATCH", escaped + "*", "COUNT", "500"});
    if (!reply) return reply.status();
    if ((*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements != 2) return internalError("unexpected SCAN reply");
    cursor.assign((*reply)->element[0]->str, (*reply)->element[0]->len);
    const redisReply* keys = (*reply)->element[1];
    if (keys->elements > 0) {
      std::vector<std::string> argv = {"UNLINK"};
      for (size_t i = 0; i < keys->elements; ++i) argv.emplace_back(keys->element[i]->str, keys->element[i]->len);
      MX_RETURN_IF_ERROR(run(argv).status());
    }
  } while (cursor != "0");
  return Status::ok();
}

Status RedisCache::health() {
  pausedUntilMs_ = 0;  // health checks probe even during a pause
  auto reply = run({"PING"});
  if (!reply && logger_) logger_->warn(reply.status().toString());
  return reply.status();
}

}  // namespace mx::redis
