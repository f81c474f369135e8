#include "graph/reducers.hpp"

namespace mx::host {

std::optional<Reducer> parseReducer(const std::string& name) {
  if (name == "replace") return Reducer::Replace;
  if (name == "append") return Reducer::Append;
  if (name == "merge") return Reducer::Merge;
  if (name == "merge_by_key") return Reducer::MergeByKey;
  return std::nullopt;
}

const std::vector<std::string>& reducerNames() {
  static const std::vector<std::string> names = {"replace", "append", "merge", "merge_by_key"};
  return names;
}

namespace {

void mergeObjects(Json& value, const Json& update) {
  for (const auto& [key, child] : update.items()) {
    if (child.is_null()) {
      value.erase(key);
    } else if (child.is_object() && value.contains(key) && value[key].is_object()) {
      mergeObjects(value[key], child);
    } else {
      value[key] = child;
    }
  }
}

}  // namespace

Status applyReducer(Reducer reducer, const std::string& key, Json& value, const Json& update) {
  switch (reducer) {
    case Reducer::Replace:
      value = update;
      return Status::ok();
    case Reducer::Append:
      if (!value.is_array()) value = value.is_null() ? Json::array() : Json::array({value});
      if (update.is_array()) {
        for (const auto& element : update) value.push_back(element);
      } else {
        value.push_back(update);
      }
      return Status::ok();
    case Reducer::Merge:
      if (!update.is_object()) return invalidArgumentError("the merge reducer needs an object update");
      if (!value.is_object()) value = Json::object();
      mergeObjects(value, update);
      return Status::ok();
    case Reducer::MergeByKey: {
      if (!value.is_array()) value = Json::array();
      Json items = update.is_array() ? update : Json::array({update});
      for (const auto& item : items) {
        if (!item.is_object() || !item.contains(key)) {
          return invalidArgumentError("merge_by_key needs objects with a \"" + key + "\" field");
        }
        bool replaced = false;
        for (auto& existing : value) {
          if (existing.is_object() && existing.contains(key) && existing[key] == item[key]) {
            existing = item;
            replaced = true;
            break;
          }
        }
        if (!replaced) value.push_back(item);
      }
      return Status::ok();
    }
  }
  return Status::ok();
}

}  // namespace mx::host
