// A graph defined in TOML (graphs/*.toml), validated when it loads.
//
//   [graph]    name, entry, recursion_limit, interrupt_before, interrupt_after
//   [channels.<name>]  reducer = "replace" | "append" | "merge" | "merge_by_key" (+ key), default
//   [nodes.<name>]     kind = "<registered node kind>" + the kind's own config keys
//   [[edges]]  from = "a" (or ["a","b"]: a join, runs once all have finished)
//              to = "b" | "__end__", optional when = "<condition>" (see predicate.hpp)
//              or router = "<registered router>", targets = [...], config = {...}
//
// Validation, each problem with file:line:col: unknown node kind or router
// (with a suggestion), a missing or unknown entry, an edge from or to an
// unknown node, a node that cannot be reached from the entry, a node with no
// way to __end__, an unknown reducer, a condition that does not parse or reads
// an undeclared channel, a node config that does not match its kind's schema.
// Immutable after load and instantiation; safe to share between runs.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/env_expansion.hpp"
#include "config/source_location.hpp"
#include "graph/predicate.hpp"
#include "graph/reducers.hpp"
#include "mx/graph.hpp"

namespace mx::host {

class Registry;

constexpr const char* kEnd = "__end__";

struct ChannelSpec {
  std::string name;
  Reducer reducer = Reducer::Replace;
  std::string key;
  Json defaultValue;
};

struct NodeSpec {
  std::string name;
  std::string kind;
  Json config;
  SourceLocation where;
  std::shared_ptr<Node> instance;
};

struct EdgeSpec {
  std::vector<std::string> from;     // more than one: a join
  std::string to;                    // empty for a router edge
  std::optional<Predicate> when;
  std::string router;
  Json routerConfig;
  std::vector<std::string> targets;  // what a router may return
  std::shared_ptr<Router> routerInstance;
  SourceLocation where;

  bool isJoin() const { return from.size() > 1; }
  std::vector<std::string> destinations() const { return router.empty() ? std::vector<std::string>{to} : targets; }
};

struct GraphDefinition {
  std::string name;
  std::string file;
  std::string entry;
  int recursionLimit = 25;
  std::vector<ChannelSpec> channels;
  std::vector<NodeSpec> nodes;
  std::vector<EdgeSpec> edges;
  std::set<std::string> interruptBefore;
  std::set<std::string> interruptAfter;

  const NodeSpec* node(std::string_view name) const;
  const ChannelSpec* channel(std::string_view name) const;
  Json initialState() const;
};

// Parses and validates; appends every problem to `errors`. Node and router
// instances are created later (instantiateGraph in the component set).
std::shared_ptr<GraphDefinition> loadGraph(const std::string& file, const std::string& name, const Registry& registry,
                                           const EnvLookup& env, std::vector<ConfigError>& errors);

}  // namespace mx::host
