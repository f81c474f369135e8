#include "graph/graph_definition.hpp"

#include <filesystem>
#include <queue>

#include "config/schema_validation.hpp"
#include "config/suggest.hpp"
#include "plugins/registry.hpp"

namespace mx::host {

const NodeSpec* GraphDefinition::node(std::string_view name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

const ChannelSpec* GraphDefinition::channel(std::string_view name) const {
  for (const auto& c : channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Json GraphDefinition::initialState() const {
  Json state = Json::object();
  for (const auto& c : channels) state[c.name] = c.defaultValue;
  return state;
}

namespace {

const ConfigSchema& graphSchema() {
  static const ConfigSchema schema =
      ConfigSchema()
          .optional("name", ConfigType::String, "", "graph name")
          .optional("description", ConfigType::String, "", "what the graph does")
          .required("entry", ConfigType::String, "the first node")
          .optional("recursion_limit", ConfigType::Integer, 25, "most super-steps a run may take")
          .optional("interrupt_before", ConfigType::StringArray, Json::array(), "pause before these nodes")
          .optional("interrupt_after", ConfigType::StringArray, Json::array(), "pause after these nodes");
  return schema;
}

const ConfigSchema& channelSchema() {
  static const ConfigSchema schema = ConfigSchema()
                                         .optional("reducer", ConfigType::String, "replace", "how updates combine")
                                         .optional("key", ConfigType::String, "id", "merge_by_key: the key field")
                                         .optional("default", ConfigType::Any, nullptr, "initial value")
                                         .optional("description", ConfigType::String, "", "what it holds");
  return schema;
}

const ConfigSchema& edgeSchema() {
  static const ConfigSchema schema = ConfigSchema()
                                         .required("from", ConfigType::Any, "source node, or an array for a join")
                                         .optional("to", ConfigType::String, "", "target node or __end__")
                                         .optional("when", ConfigType::String, "", "condition on state")
                                         .optional("router", ConfigType::String, "", "a registered router")
                                         .optional("targets", ConfigType::StringArray, Json::array(), "router outputs")
                                         .optional("config", ConfigType::Table, Json::object(), "router config");
  return schema;
}

struct Loader {
  GraphDefinition& graph;
  const Registry& registry;
  const EnvLookup& env;
  std::vector<ConfigError>& errors;
  std::vector<SourceLocation> edgeLocations;

  SourceLocation at(const toml::node& node) const { return locationOf(node, graph.file); }
  void error(const SourceLocation& where, std::string message) { errors.push_back({where, std::move(message)}); }

  void loadChannels(const toml::table& root) {
    const auto* section = root.get("channels");
    if (section == nullptr) return;
    if (!section->is_table()) return error(at(*section), "\"channels\" must be a table: write [channels.<name>]");
    for (const auto& [key, node] : *section->as_table()) {
      std::string name(key.str());
      if (!node.is_table()) {
        error(at(node), "[channels." + name + "] must be a table");
        continue;
      }
      Json spec = validateTable(*node.as_table(), channelSchema(), {graph.file, "[channels." + name + "]", {}}, env, errors);
      auto reducer = parseReducer(spec.value("reducer", "replace"));
      if (!reducer) {
        const auto* where = node.as_table()->get("reducer");
        error(at(*where), "[channels." + name + "] unknown reducer \"" + spec["reducer"].get<std::string>() + "\"" +
                              didYouMean(spec["reducer"].get<std::string>(), reducerNames()) + " (reducers: replace, append, merge, merge_by_key)");
        continue;
      }
      graph.channels.push_back({name, *reducer, spec.value("key", "id"), spec.contains("default") ? spec["default"] : Json()});
    }
  }

  void loadNodes(const toml::table& root) {
    const auto* section = root.get("nodes");
    if (section == nullptr || !section->is_table()) {
      return error(section ? at(*section) : SourceLocation{graph.file, 0, 0}, "a graph needs [nodes.<name>] tables");
    }
    for (const auto& [key, node] : *section->as_table()) {
      std::string name(key.str());
      std::string label = "[nodes." + name + "]";
      if (name == kEnd) {
        error(at(node), label + " \"" + std::string(kEnd) + "\" is reserved");
        continue;
      }
      if (!node.is_table()) {
        error(at(node), label + " must be a table");
        continue;
      }
      const auto* kindNode = node.as_table()->get("kind");
      if (kindNode == nullptr || !kindNode->is_string()) {
        error(at(node), label + " missing required key \"kind\" (a registered node kind)");
        continue;
      }
      std::string kind = kindNode->as_string()->get();
      const auto* factory = registry.find<Node>(kind);
      if (factory == nullptr) {
        auto known = registry.names<Node>();
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        error(at(*kindNode), label + " unknown node kind \"" + kind + "\"" + didYouMean(kind, known) +
                                 (list.empty() ? "; no loaded plugin provides node kinds" : "; known kinds: " + list));
        continue;
      }
      Json config = validateTable(*node.as_table(), factory->factory.schema, {graph.file, label, {"kind"}}, env, errors);
      graph.nodes.push_back({name, kind, std::move(config), at(node), nullptr});
    }
  }

  std::vector<std::string> nodeNames(bool withEnd) const {
    std::vector<std::string> names;
    for (const auto& n : graph.nodes) names.push_back(n.name);
    if (withEnd) names.push_back(kEnd);
    return names;
  }

  bool knownNode(const std::string& name, bool allowEnd) const {
    return graph.node(name) != nullptr || (allowEnd && name == kEnd);
  }

  void checkNodeName(const std::string& name, bool allowEnd, const SourceLocation& where, const std::string& role) {
    if (!knownNode(name, allowEnd)) {
      error(where, "edge " + role + " unknown node \"" + name + "\"" + didYouMean(name, nodeNames(allowEnd)));
    }
  }

  void loadEdges(const toml::table& root) {
    const auto* section = root.get("edges");
    if (section == nullptr) return;
    const auto* array = section->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      return error(at(*section), "\"edges\" must be an array of tables: write [[edges]]");
    }
    for (const auto& element : *array) {
      const auto& table = *element.as_table();
      SourceLocation where = at(table);
      size_t before = errors.size();
      Json spec = validateTable(table, edgeSchema(), {graph.file, "[[edges]]", {}}, env, errors);
      if (errors.size() != before) continue;
      EdgeSpec edge;
      edge.where = where;
      if (spec["from"].is_string()) {
        edge.from = {spec["from"].get<std::string>()};
      } else if (spec["from"].is_array() && !spec["from"].empty()) {
        for (const auto& f : spec["from"]) {
          if (f.is_string()) edge.from.push_back(f);
        }
      }
      if (edge.from.empty()) {
        error(where, "[[edges]] \"from\" must be a node name or an array of node names");
        continue;
      }
      edge.to = spec["to"];
      edge.router = spec["router"];
      edge.routerConfig = spec["config"];
      edge.targets = spec["targets"].get<std::vector<std::string>>();
      if (edge.to.empty() == edge.router.empty()) {
        error(where, "[[edges]] needs exactly one of \"to\" or \"router\"");
        continue;
      }
      for (const auto& from : edge.from) checkNodeName(from, false, where, "from");
      if (!edge.to.empty()) checkNodeName(edge.to, true, where, "to");
      if (!edge.router.empty()) {
        const auto* routerFactory = registry.find<Router>(edge.router);
        if (routerFactory == nullptr) {
          const auto* routerNode = table.get("router");
          error(at(*routerNode), "[[edges]] unknown router \"" + edge.router + "\"" + didYouMean(edge.router, registry.names<Router>()));
        } else {
          // The router's config against its factory's schema: defaults applied, unknown or missing keys reported.
          const auto* configNode = table.get("config");
          toml::table empty;
          const toml::table* config = configNode != nullptr && configNode->is_table() ? configNode->as_table() : &empty;
          edge.routerConfig = validateTable(*config, routerFactory->factory.schema,
                                            {graph.file, "[[edges]] config of router \"" + edge.router + "\"", {}}, env, errors);
        }
        if (edge.targets.empty()) error(where, "[[edges]] a router edge must list its possible \"targets\"");
        for (const auto& target : edge.targets) checkNodeName(target, true, where, "target");
      }
      std::string when = spec["when"];
      if (!when.empty()) {
        if (edge.isJoin()) error(where, "[[edges]] a join (from = [...]) cannot have a condition");
        auto predicate = Predicate::parse(when);
        if (!predicate) {
          error(at(*table.get("when")), "[[edges]] condition \"" + when + "\": " + predicate.status().message());
        } else if (graph.channel(predicate->channel()) == nullptr) {
          std::vector<std::string> channels;
          for (const auto& c : graph.channels) channels.push_back(c.name);
          error(at(*table.get("when")), "[[edges]] condition \"" + when + "\" reads undeclared channel \"" +
                                            predicate->channel() + "\"" + didYouMean(predicate->channel(), channels));
        } else {
          edge.when = *predicate;
        }
      }
      graph.edges.push_back(std::move(edge));
    }
  }

  void loadHeader(const toml::table& root, const std::string& name) {
    const auto* header = root.get("graph");
    if (header == nullptr || !header->is_table()) {
      return error({graph.file, 1, 1}, "a graph file needs a [graph] table with at least entry = \"<node>\"");
    }
    Json spec = validateTable(*header->as_table(), graphSchema(), {graph.file, "[graph]", {}}, env, errors);
    graph.name = spec.value("name", "").empty() ? name : spec["name"].get<std::string>();
    graph.entry = spec.value("entry", "");
    graph.recursionLimit = static_cast<int>(spec.value("recursion_limit", 25));
    for (const auto& n : spec.value("interrupt_before", Json::array())) graph.interruptBefore.insert(n.get<std::string>());
    for (const auto& n : spec.value("interrupt_after", Json::array())) graph.interruptAfter.insert(n.get<std::string>());
  }

  void checkHeaderReferences(const toml::table& root) {
    const auto* header = root.get("graph");
    if (header == nullptr || !header->is_table() || graph.entry.empty()) return;
    SourceLocation where = at(*header);
    if (const auto* entry = header->as_table()->get("entry")) where = at(*entry);
    if (graph.node(graph.entry) == nullptr) {
      error(where, "[graph] entry \"" + graph.entry + "\" is not a node" + didYouMean(graph.entry, nodeNames(false)));
    }
    for (const auto* set : {&graph.interruptBefore, &graph.interruptAfter}) {
      for (const auto& n : *set) {
        if (graph.node(n) == nullptr) error(at(*header), "[graph] interrupt names unknown node \"" + n + "\"");
      }
    }
    if (graph.recursionLimit < 1) error(at(*header), "[graph] recursion_limit must be at least 1");
  }

  // Every node reachable from the entry, and every node with a path to __end__.
  void checkShape() {
    if (graph.node(graph.entry) == nullptr) return;
    std::map<std::string, std::vector<std::string>> out;
    std::map<std::string, std::vector<std::string>> in;
    for (const auto& edge : graph.edges) {
      for (const auto& from : edge.from) {
        for (const auto& to : edge.destinations()) {
          out[from].push_back(to);
          in[to].push_back(from);
        }
      }
    }
    auto walk = [](const std::string& start, std::map<std::string, std::vector<std::string>>& next) {
      std::set<std::string> seen = {start};
      std::queue<std::string> queue;
      queue.push(start);
      while (!queue.empty()) {
        std::string current = queue.front();
        queue.pop();
        for (const auto& n : next[current]) {
          if (seen.insert(n).second) queue.push(n);
        }
      }
      return seen;
    };
    auto reachable = walk(graph.entry, out);
    auto canEnd = walk(kEnd, in);
    for (const auto& node : graph.nodes) {
      if (!reachable.count(node.name)) {
        error(node.where, "[nodes." + node.name + "] cannot be reached from the entry \"" + graph.entry + "\"");
      } else if (out[node.name].empty()) {
        error(node.where, "[nodes." + node.name + "] has no outgoing edge (add one to \"__end__\")");
      } else if (!canEnd.count(node.name)) {
        error(node.where, "[nodes." + node.name + "] has no way to \"__end__\" (every path from it loops forever)");
      }
    }
  }
};

}  // namespace

std::shared_ptr<GraphDefinition> loadGraph(const std::string& file, const std::string& name, const Registry& registry,
                                           const EnvLookup& env, std::vector<ConfigError>& errors) {
  auto graph = std::make_shared<GraphDefinition>();
  graph->file = file;
  if (!std::filesystem::exists(file)) {
    errors.push_back({{file, 0, 0}, "graph file not found"});
    return graph;
  }
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    errors.push_back({{file, e.source().begin.line, e.source().begin.column},
                      std::string("TOML syntax error: ") + std::string(e.description())});
    return graph;
  }
  size_t before = errors.size();
  Loader loader{*graph, registry, env, errors, {}};
  for (const auto& [key, node] : root) {
    std::string section(key.str());
    static const std::vector<std::string> known = {"graph", "channels", "nodes", "edges"};
    if (std::find(known.begin(), known.end(), section) == known.end()) {
      errors.push_back({locationOf(node, file), "unknown section \"" + section + "\"" + didYouMean(section, known)});
    }
  }
  loader.loadHeader(root, name);
  loader.loadChannels(root);
  loader.loadNodes(root);
  loader.loadEdges(root);
  loader.checkHeaderReferences(root);
  if (errors.size() == before) loader.checkShape();
  // Declaration order, as written (toml++ tables iterate by key).
  std::sort(graph->nodes.begin(), graph->nodes.end(),
            [](const NodeSpec& a, const NodeSpec& b) { return a.where.line < b.where.line; });
  return graph;
}

}  // namespace mx::host
