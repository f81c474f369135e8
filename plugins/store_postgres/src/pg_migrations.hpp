// The PostgreSQL schema of store_postgres as versioned migrations, applied at
// start inside one transaction under an advisory lock (two servers starting at
// once do not race; a failed migration leaves the schema as it was). Applied
// versions are recorded in mx_schema_migrations; a database whose version is
// newer than this build, or that was created with another vector mode or size,
// is refused with a message that says so.
// Thread-safety: call once per process at open. Blocking: database I/O.
#pragma once

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "mx/status.hpp"

namespace mx::pg {

enum class VectorMode {
  Pgvector,  // pgvector's vector(N) column, HNSW index, cosine distance (Supabase, production)
  Exact,     // real[] column, exact cosine computed in SQL: servers without pgvector (small corpora)
};
const char* vectorModeName(VectorMode mode);

struct SchemaOptions {
  int dimensions = 1536;
  VectorMode vectorMode = VectorMode::Pgvector;
};

struct Migration {
  int version;
  std::string description;
  std::string sql;
};

// Every migration, in order; the SQL of some depends on the options.
std::vector<Migration> migrations(const SchemaOptions& options);

// Brings the database to the newest version. Returns the versions applied now.
Result<std::vector<int>> migrate(pqxx::connection& connection, const SchemaOptions& options);

}  // namespace mx::pg
