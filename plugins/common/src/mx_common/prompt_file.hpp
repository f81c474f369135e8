// A node's system prompt from its config: `system_prompt` (text) or
// `system_prompt_file` (a file; relative paths are relative to the graph
// file). Used by the graph plugins' factories.
// Thread-safety: reads a file; call from a factory. Blocking: file I/O.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "mx/component.hpp"

namespace mx::common {

inline Result<std::string> readSystemPrompt(ComponentContext& context) {
  std::string text = context.config().value("system_prompt", "");
  std::string file = context.config().value("system_prompt_file", "");
  if (file.empty()) return text;
  std::filesystem::path path(file);
  if (path.is_relative()) path = std::filesystem::path(context.configDirectory()) / path;
  std::ifstream in(path);
  if (!in) return notFoundError("system_prompt_file " + path.string() + " cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace mx::common
