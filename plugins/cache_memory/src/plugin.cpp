// Front door of the cache_memory plugin: registers the "memory" cache backend.
#include "memory_cache.hpp"
#include "mx/plugin.hpp"

MX_PLUGIN("cache_memory", "0.1.0", "In-process LRU cache with per-entry TTL and a memory bound") {
  mx::Factory<mx::CacheBackend> factory;
  factory.name = "memory";
  factory.description = "in-process LRU cache (the embedded default)";
  factory.schema = mx::ConfigSchema()
                       .optional("max_bytes", mx::ConfigType::Integer, 64 * 1024 * 1024,
                                 "memory bound for keys, values and bookkeeping")
                       .optional("max_entries", mx::ConfigType::Integer, 1000000,
                                 "bound on the number of entries");
  factory.validate = [](const mx::Json& config) -> mx::Status {
    if (config["max_bytes"].get<int64_t>() < 4096) {
      return mx::invalidArgumentError("max_bytes must be at least 4096");
    }
    if (config["max_entries"].get<int64_t>() < 1) {
      return mx::invalidArgumentError("max_entries must be at least 1");
    }
    return mx::Status::ok();
  };
  factory.create = [validate = factory.validate](mx::ComponentContext& context)
      -> mx::Result<std::unique_ptr<mx::CacheBackend>> {
    MX_RETURN_IF_ERROR(validate(context.config()));
    return std::unique_ptr<mx::CacheBackend>(std::make_unique<mx::plugins::MemoryCache>(
        context.config()["max_bytes"].get<size_t>(), context.config()["max_entries"].get<size_t>()));
  };
  return registrar.addCacheBackend(std::move(factory));
}
