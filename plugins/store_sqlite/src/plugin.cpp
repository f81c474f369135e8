// Front door of store_sqlite: the "sqlite" store of the embedded default.
#include <filesystem>

#include "mx/plugin.hpp"
#include "sqlite_store.hpp"

MX_PLUGIN("store_sqlite", "0.1.0", "SQLite store: FTS5 full-text search, HNSW vector index, checkpoints") {
  mx::Factory<mx::Store> factory;
  factory.name = "sqlite";
  factory.description = "one SQLite file in the data directory";
  const mx::sqlite::StoreConfig defaults;  // one place for each default: the store's own
  factory.schema = mx::ConfigSchema()
                       .optional("path", mx::ConfigType::String, "marketerx.db", "database file, relative to data_dir")
                       .optional("embedding_dimensions", mx::ConfigType::Integer, defaults.dimensions, "vector size (the embedder's)")
                       .optional("pool_size", mx::ConfigType::Integer, defaults.poolSize, "connections")
                       .optional("busy_timeout_ms", mx::ConfigType::Integer, defaults.busyTimeoutMs, "wait for the write lock")
                       .optional("hnsw_threshold", mx::ConfigType::Integer, defaults.hnswThreshold, "per user: exact search below, HNSW from here")
                       .optional("checkpoint_retention", mx::ConfigType::Integer, defaults.checkpointRetention, "graph checkpoints kept per thread")
                       .optional("wal_checkpoint_pages", mx::ConfigType::Integer, defaults.walCheckpointPages,
                                 "WAL pages that start a checkpoint on the store's own thread")
                       .optional("wal_idle_checkpoint_ms", mx::ConfigType::Integer, defaults.walIdleCheckpointMs,
                                 "once commits stop this long, the WAL is copied into the database and truncated (0: never)");
  factory.validate = [](const mx::Json& c) -> mx::Status {
    if (c["embedding_dimensions"].get<int64_t>() < 1) return mx::invalidArgumentError("embedding_dimensions must be positive");
    if (c["pool_size"].get<int64_t>() < 1) return mx::invalidArgumentError("pool_size must be at least 1");
    if (c["checkpoint_retention"].get<int64_t>() < 1) return mx::invalidArgumentError("checkpoint_retention must be at least 1");
    MX_RETURN_IF_ERROR(mx::sqlite::WalPolicy::checkPages(c["wal_checkpoint_pages"].get<int64_t>()));
    return mx::sqlite::WalPolicy::checkIdleMs(c["wal_idle_checkpoint_ms"].get<int64_t>());
  };
  factory.create = [validate = factory.validate](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Store>> {
    const mx::Json& c = context.config();
    MX_RETURN_IF_ERROR(validate(c));
    mx::sqlite::StoreConfig config;
    std::filesystem::path path(c["path"].get<std::string>());
    config.path = (path.is_relative() ? std::filesystem::path(context.dataDir()) / path : path).string();
    config.dimensions = c["embedding_dimensions"];
    config.poolSize = c["pool_size"];
    config.busyTimeoutMs = c["busy_timeout_ms"];
    config.hnswThreshold = c["hnsw_threshold"];
    config.checkpointRetention = c["checkpoint_retention"];
    config.walCheckpointPages = c["wal_checkpoint_pages"];
    config.walIdleCheckpointMs = c["wal_idle_checkpoint_ms"];
    config.logger = &context.logger();
    auto store = mx::sqlite::SqliteStore::open(config);
    if (!store) return store.status();
    context.logger().info("opened " + config.path);
    return std::unique_ptr<mx::Store>(std::move(*store));
  };
  return registrar.addStore(std::move(factory));
}
