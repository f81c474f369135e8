// Channel reducers: how a node's update to a channel combines with its value.
//   replace       the update becomes the value (the default)
//   append        arrays concatenate; a non-array update is appended as one element
//   merge         objects merge recursively (null deletes a key)
//   merge_by_key  arrays of objects: an element replaces the one with the same
//                 value of `key`, others are appended
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "mx/json.hpp"
#include "mx/status.hpp"

namespace mx::host {

enum class Reducer { Replace, Append, Merge, MergeByKey };

std::optional<Reducer> parseReducer(const std::string& name);
const std::vector<std::string>& reducerNames();

// A node's update is moved into the state (a step's tool results, the model's
// answer: copying them showed as 2 % of the server's CPU); the const overload copies.
Status applyReducer(Reducer reducer, const std::string& key, Json& value, Json&& update);
Status applyReducer(Reducer reducer, const std::string& key, Json& value, const Json& update);

}  // namespace mx::host
