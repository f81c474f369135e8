// mx/store.hpp — the persistent store of a deployment (SQLite, PostgreSQL).
//
// What: the durable home of conversations, messages, artifacts, resources and
// their chunks, canon entries, graph checkpoints and run event logs, every row
// owned by a user id and every query filtered by it. The operations on each of
// those are added by the stores issue (#5); until then a Store is a component a
// deployment can configure and health-check, and that other components can look
// up by name.
// Thread-safety: every method may be called concurrently from any thread; an
// implementation pools its own connections.
// Ownership: results are owned by the caller.
// Blocking: every call blocks on the database; call from workers, never from an
// HTTP reactor.
#pragma once

#include <string>

#include "mx/component.hpp"

namespace mx {

class Store : public Component {
 public:
  // "sqlite", "postgres", ...
  virtual std::string backendName() const = 0;
};

}  // namespace mx
