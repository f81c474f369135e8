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

void mergeObjects(Json& value, Json&& update) {
  for (auto it = update.begin(); it != update.end(); ++it) {
    Json& child = it.value();
    if (child.is_null()) {
      value.erase(it.key());
    } else if (child.is_object() && value.contains(it.key()) && value[it.key()].is_object()) {
      mergeObjects(value[it.key()], std::move(child));
    } else {
      value[it.key()] = std::move(child);
    }
  }
}

}  // namespace

Status applyReducer(Reducer reducer, const std::string& key, Json& value, Json&& update) {
  switch (reducer) {
    case Reducer::Replace:
      value = std::move(update);
      return Status::ok();
    case Reducer::Append:
      if (!value.is_array()) value = value.is_null() ? Json::array() : Json::array({value});
      if (update.is_array()) {
        for (auto& element : update) value.push_back(std::move(element));
      } else {
        value.push_back(std::move(update));
      }
      return Status::ok();
    case Reducer::Merge:
      if (!update.is_object()) return invalidArgumentError("the merge reducer needs an object update");
      if (!value.is_object()) value = Json::object();
      mergeObjects(value, std::move(update));
      return Status::ok();
    case Reducer::MergeByKey: {
      if (!value.is_array()) value = Json::array();
      Json items = update.is_array() ? std::move(update) : Json::array({std::move(update)});
      for (auto& item : items) {
        if (!item.is_object() || !item.contains(key)) {
          return invalidArgumentError("merge_by_key needs objects with a \"" + key + "\" field");
        }
        bool replaced = false;
        for (auto& existing : value) {
          if (existing.is_object() && existing.contains(key) && existing[key] == item[key]) {
            existing = std::move(item);
            replaced = true;
            break;
          }
        }
        if (!replaced) value.push_back(std::move(item));
      }
      return Status::ok();
    }
  }
  return Status::ok();
}

Status applyReducer(Reducer reducer, const std::string& key, Json& value, const Json& update) {
  return applyReducer(reducer, key, value, Json(update));
}

}  // namespace mx::host
