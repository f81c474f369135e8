// Front door of cache_redis: the "redis" cache backend.
#include "mx/plugin.hpp"
#include "redis_cache.hpp"

MX_PLUGIN("cache_redis", "0.1.0", "Redis cache (hiredis): pooled, prefixed keys, fail-fast during outages") {
  mx::Factory<mx::CacheBackend> factory;
  factory.name = "redis";
  factory.description = "Redis (hiredis 0.14; no TLS: keep it on a private network or behind stunnel)";
  factory.schema = mx::ConfigSchema()
                       .optional("host", mx::ConfigType::String, "127.0.0.1", "Redis host")
                       .optional("port", mx::ConfigType::Integer, 6379, "Redis port")
                       .optional("password", mx::ConfigType::String, "", "AUTH password")
                       .secret()
                       .optional("database", mx::ConfigType::Integer, 0, "SELECT database")
                       .optional("key_prefix", mx::ConfigType::String, "mx:", "prefix of every key")
                       .optional("pool_size", mx::ConfigType::Integer, 4, "connections")
                       .optional("connect_timeout_ms", mx::ConfigType::Integer, 500, "connect timeout")
                       .optional("command_timeout_ms", mx::ConfigType::Integer, 500, "per command")
                       .optional("retry_ms", mx::ConfigType::Integer, 1000, "after a failure, fail fast for this long");
  factory.validate = [](const mx::Json& c) -> mx::Status {
    int64_t port = c["port"];
    if (port < 1 || port > 65535) return mx::invalidArgumentError("port must be between 1 and 65535");
    if (c["pool_size"].get<int64_t>() < 1) return mx::invalidArgumentError("pool_size must be at least 1");
    return mx::Status::ok();
  };
  factory.create = [validate = factory.validate](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::CacheBackend>> {
    const mx::Json& c = context.config();
    MX_RETURN_IF_ERROR(validate(c));
    mx::redis::RedisConfig config;
    config.host = c["host"];
    config.port = c["port"];
    config.password = c["password"];
    config.database = c["database"];
    config.keyPrefix = c["key_prefix"];
    config.poolSize = c["pool_size"];
    config.connectTimeout = std::chrono::milliseconds(c["connect_timeout_ms"].get<int64_t>());
    config.commandTimeout = std::chrono::milliseconds(c["command_timeout_ms"].get<int64_t>());
    config.retryPause = std::chrono::milliseconds(c["retry_ms"].get<int64_t>());
    return std::unique_ptr<mx::CacheBackend>(std::make_unique<mx::redis::RedisCache>(config, &context.logger()));
  };
  return registrar.addCacheBackend(std::move(factory));
}
