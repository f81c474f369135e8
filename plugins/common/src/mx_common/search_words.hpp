// The words of free text a full-text search looks for: letters and digits
// (and any non-ASCII byte) lower-cased, each once, in order, single letters
// dropped — so nothing a user types can become a query operator.
// Pure; thread-safe.
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mx::common {

inline std::vector<std::string> searchWords(std::string_view text) {
  std::set<std::string> seen;
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (word.size() > 1 && seen.insert(word).second) words.push_back(word);
    word.clear();
  };
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      word.push_back(static_cast<char>(std::tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  return words;
}

}  // namespace mx::common
