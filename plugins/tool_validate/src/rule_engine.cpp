#include "rule_engine.hpp"

#include <algorithm>
#include <regex>
#include <sstream>

#include "mx_common/artifact_markers.hpp"

namespace mx::validate {

namespace {

// ASCII letters only, as std::tolower in the "C" locale the server runs in, without a call per byte.
std::string lower(std::string t) {
  for (char& c : t) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return t;
}

size_t wordCount(const std::string& text) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

Json violation(const Json& rule, const std::string& message, int64_t position) {
  return {{"ruleId", rule.value("id", rule.value("type", "rule"))},
          {"type", rule.value("type", "")},
          {"message", rule.value("message", message).empty() ? message : rule.value("message", message)},
          {"detail", message},
          {"position", position}};
}

}  // namespace

Json validateContent(const std::string& draft, const Json& rules) {
  const std::string content(common::unwrapArtifact(draft));
  Json violations = Json::array();
  Json unchecked = Json::array();
  Json checked = Json::array();
  std::string lowered = lower(content);
  for (const auto& rule : rules.is_array() ? rules : emptyArray()) {
    if (rule.is_string()) {
      unchecked.push_back(rule);
      continue;
    }
    if (!rule.is_object()) continue;
    std::string type = rule.value("type", "");
    checked.push_back(rule.value("id", type));
    if (type == "banned_phrase") {
      std::string phrase = lower(rule.value("phrase", ""));
      auto at = phrase.empty() ? std::string::npos : lowered.find(phrase);
      if (at != std::string::npos) violations.push_back(violation(rule, "contains banned phrase \"" + rule.value("phrase", "") + "\"", static_cast<int64_t>(at)));
    } else if (type == "required_phrase" || type == "required_disclaimer") {
      std::string phrase = lower(rule.value("phrase", ""));
      if (!phrase.empty() && lowered.find(phrase) == std::string::npos) {
        violations.push_back(violation(rule, "missing required text \"" + rule.value("phrase", "") + "\"", -1));
      }
    } else if (type == "regex_forbidden" || type == "regex_required") {
      try {
        std::regex pattern(rule.value("pattern", ""), std::regex::ECMAScript | std::regex::icase);
        std::smatch match;
        bool found = std::regex_search(content, match, pattern);
        if (type == "regex_forbidden" && found) {
          violations.push_back(violation(rule, "matches forbidden pattern /" + rule.value("pattern", "") + "/", match.position(0)));
        } else if (type == "regex_required" && !found) {
          violations.push_back(violation(rule, "does not match required pattern /" + rule.value("pattern", "") + "/", -1));
        }
      } catch (const std::regex_error& e) {
        unchecked.push_back({{"rule", rule}, {"reason", std::string("invalid pattern: ") + e.what()}});
      }
    } else if (type == "max_words" || type == "min_words") {
      size_t words = wordCount(content);
      int64_t limit = rule.value("value", int64_t{0});
      bool bad = type == "max_words" ? words > static_cast<size_t>(limit) : words < static_cast<size_t>(limit);
      if (bad) violations.push_back(violation(rule, std::to_string(words) + " words (limit " + std::to_string(limit) + ")", -1));
    } else if (type == "max_chars") {
      int64_t limit = rule.value("value", int64_t{0});
      if (static_cast<int64_t>(content.size()) > limit) {
        violations.push_back(violation(rule, std::to_string(content.size()) + " characters (limit " + std::to_string(limit) + ")", limit));
      }
    } else if (type == "subject_max_chars") {
      auto at = lowered.find("subject:");
      if (at != std::string::npos) {
        size_t start = at + 8;
        while (start < content.size() && content[start] == ' ') ++start;
        size_t end = content.find('\n', start);
        std::string subject = content.substr(start, end == std::string::npos ? std::string::npos : end - start);
        int64_t limit = rule.value("value", int64_t{60});
        if (static_cast<int64_t>(subject.size()) > limit) {
          violations.push_back(violation(rule, "subject line has " + std::to_string(subject.size()) + " characters (limit " +
                                                   std::to_string(limit) + ")", static_cast<int64_t>(start)));
        }
      }
    } else {
      unchecked.push_back({{"rule", rule}, {"reason", "unknown rule type \"" + type + "\""}});
    }
  }
  return {{"valid", violations.empty()}, {"violations", violations}, {"checked", checked}, {"unchecked", unchecked}};
}

}  // namespace mx::validate
