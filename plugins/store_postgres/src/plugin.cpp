// Front door of store_postgres: the "postgres" store (PostgreSQL 15+, pgvector).
#include "mx/plugin.hpp"
#include "pg_sql.hpp"
#include "pg_store.hpp"

namespace {

mx::Status validate(const mx::Json& c) {
  if (c["url"].get<std::string>().empty()) return mx::invalidArgumentError("url must name the database (postgresql://user:pass@host:5432/db)");
  if (c["embedding_dimensions"].get<int64_t>() < 1) return mx::invalidArgumentError("embedding_dimensions must be positive");
  if (c["pool_size"].get<int64_t>() < 1) return mx::invalidArgumentError("pool_size must be at least 1");
  if (c["checkpoint_retention"].get<int64_t>() < 1) return mx::invalidArgumentError("checkpoint_retention must be at least 1");
  std::string mode = c["vector_search"];
  if (mode != "pgvector" && mode != "exact") {
    return mx::invalidArgumentError("vector_search must be \"pgvector\" or \"exact\", not \"" + mode + "\"");
  }
  std::string scan = c["hnsw_iterative_scan"];
  if (scan != "off" && scan != "strict_order" && scan != "relaxed_order") {
    return mx::invalidArgumentError("hnsw_iterative_scan must be \"off\", \"strict_order\" or \"relaxed_order\", not \"" + scan + "\"");
  }
  return mx::Status::ok();
}

}  // namespace

MX_PLUGIN("store_postgres", "0.1.0", "PostgreSQL store: pgvector HNSW vectors, tsvector full-text search, checkpoints") {
  mx::Factory<mx::Store> factory;
  factory.name = "postgres";
  factory.description = "PostgreSQL 15+ (Supabase): pgvector + tsvector, versioned migrations, a connection pool";
  factory.schema = mx::ConfigSchema()
                       .required("url", mx::ConfigType::String, "libpq connection string or postgresql:// URI")
                       .secret()
                       .optional("embedding_dimensions", mx::ConfigType::Integer, 1536, "vector size (the embedder's)")
                       .optional("vector_search", mx::ConfigType::String, "pgvector", "\"pgvector\" (HNSW) or \"exact\" (no extension)")
                       .optional("pool_size", mx::ConfigType::Integer, 8, "connections")
                       .optional("acquire_timeout_ms", mx::ConfigType::Integer, 5000, "wait for a free connection")
                       .optional("prepared_statements", mx::ConfigType::Boolean, true,
                                 "false behind a transaction-mode pooler (PgBouncer, Supabase's port 6543)")
                       .optional("hnsw_ef_search", mx::ConfigType::Integer, 100, "HNSW candidates per search")
                       .optional("hnsw_iterative_scan", mx::ConfigType::String, "strict_order", "pgvector >= 0.8; \"off\" for older")
                       .optional("checkpoint_retention", mx::ConfigType::Integer, 20, "graph checkpoints kept per thread");
  factory.validate = validate;
  factory.create = [](mx::ComponentContext& context) -> mx::Result<std::unique_ptr<mx::Store>> {
    const mx::Json& c = context.config();
    MX_RETURN_IF_ERROR(validate(c));
    mx::pg::StoreConfig config;
    config.pool.url = c["url"];
    config.pool.size = c["pool_size"].get<size_t>();
    config.pool.acquireTimeoutMs = c["acquire_timeout_ms"];
    config.pool.preparedStatements = c["prepared_statements"];
    config.schema.dimensions = c["embedding_dimensions"];
    config.schema.vectorMode = c["vector_search"] == "exact" ? mx::pg::VectorMode::Exact : mx::pg::VectorMode::Pgvector;
    config.hnswEfSearch = c["hnsw_ef_search"];
    config.hnswIterativeScan = c["hnsw_iterative_scan"];
    config.checkpointRetention = c["checkpoint_retention"].get<size_t>();
    auto store = mx::pg::PostgresStore::open(config);
    if (!store) return store.status();
    std::string applied;
    for (int v : (*store)->appliedMigrations()) applied += (applied.empty() ? "" : ", ") + std::to_string(v);
    context.logger().info("connected to " + mx::pg::redactedUrl(config.pool.url) + " (vector search: " +
                          mx::pg::vectorModeName(config.schema.vectorMode) + ")" +
                          (applied.empty() ? "" : "; applied migrations " + applied));
    return std::unique_ptr<mx::Store>(std::move(*store));
  };
  return registrar.addStore(std::move(factory));
}
