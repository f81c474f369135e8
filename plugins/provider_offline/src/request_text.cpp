#include "request_text.hpp"
#include "mx/json_parse.hpp"

#include <algorithm>
#include <cctype>

namespace mx::offline {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool hasWord(const std::string& haystack, const std::string& word) {
  size_t at = 0;
  while ((at = haystack.find(word, at)) != std::string::npos) {
    bool startOk = at == 0 || !std::isalnum(static_cast<unsigned char>(haystack[at - 1]));
    size_t end = at + word.size();
    bool endOk = end >= haystack.size() || !std::isalnum(static_cast<unsigned char>(haystack[end])) || haystack[end] == 's';
    if (startOk && endOk) return true;
    at = end;
  }
  return false;
}

std::string trimPunctuation(std::string text) {
  while (!text.empty() && (std::isspace(static_cast<unsigned char>(text.back())) || std::string(".!?,;:").find(text.back()) != std::string::npos)) {
    text.pop_back();
  }
  size_t start = text.find_first_not_of(" \t\n");
  return start == std::string::npos ? "" : text.substr(start);
}

std::string textOf(const Message& message) {
  std::string text;
  for (const auto& block : message.content) {
    if (block.type == BlockType::Text) text += (text.empty() ? "" : "\n") + block.text;
  }
  return text;
}

}  // namespace

std::optional<std::string> detectContentType(const std::string& text) {
  std::string t = lower(text);
  const std::vector<std::pair<std::string, std::vector<std::string>>> rules = {
      {"landing-page", {"landing page", "landing-page", "landingpage", "homepage", "sales page", "web page", "webpage"}},
      {"script", {"script", "video", "youtube", "tiktok", "reel", "podcast", "voiceover", "storyboard"}},
      {"email", {"email", "e-mail", "newsletter", "drip", "mailer"}},
      {"ad", {"ad", "advert", "advertisement", "facebook ad", "google ad", "instagram", "linkedin ad", "banner", "social post", "promo copy"}},
  };
  for (const auto& [type, words] : rules) {
    for (const auto& word : words) {
      if (hasWord(t, word)) return type;
    }
  }
  return std::nullopt;
}

std::string contentTypeLabel(const std::string& contentType) {
  if (contentType == "email") return "email campaign";
  if (contentType == "ad") return "ad";
  if (contentType == "landing-page") return "landing page";
  if (contentType == "script") return "video script";
  return contentType;
}

std::string extractTopic(const std::string& text) {
  std::string t = lower(text);
  for (const char* marker : {" for ", " about ", " promoting ", " announcing ", " to promote ", " to announce ", " on "}) {
    auto at = t.find(marker);
    if (at == std::string::npos) continue;
    std::string topic = trimPunctuation(text.substr(at + std::string(marker).size()));
    for (const char* cut : {" targeting ", " aimed at ", " for ", " that ", " which ", " with "}) {
      auto end = lower(topic).find(cut);
      if (end != std::string::npos && end > 0) topic = topic.substr(0, end);
    }
    for (const char* article : {"our ", "my ", "the ", "a ", "an ", "their "}) {
      if (lower(topic).rfind(article, 0) == 0) topic = topic.substr(std::string(article).size());
    }
    topic = trimPunctuation(topic);
    if (!topic.empty()) return topic;
  }
  return trimPunctuation(text.substr(0, std::min<size_t>(text.size(), 60)));
}

std::string extractAudience(const std::string& text) {
  std::string t = lower(text);
  for (const char* marker : {" targeting ", " aimed at ", " for people who ", " audience: "}) {
    auto at = t.find(marker);
    if (at != std::string::npos) return trimPunctuation(text.substr(at + std::string(marker).size()));
  }
  return "";
}

std::string titleCase(const std::string& text) {
  std::string out = text;
  bool start = true;
  for (char& c : out) {
    if (start && std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = c == ' ' || c == '-';
  }
  return out;
}

std::string normalizeToolName(const std::string& name) {
  std::string out = name;
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

Conversation readConversation(const std::vector<Message>& messages) {
  Conversation conversation;
  size_t human = messages.size();
  for (size_t i = messages.size(); i-- > 0;) {
    if (messages[i].role == Role::User && !textOf(messages[i]).empty()) {
      human = i;
      break;
    }
  }
  if (human == messages.size()) return conversation;
  conversation.userText = textOf(messages[human]);
  std::map<std::string, size_t> byId;
  for (size_t i = human + 1; i < messages.size(); ++i) {
    for (const auto& block : messages[i].content) {
      if (block.type == BlockType::ToolUse) {
        byId[block.id] = conversation.toolCalls.size();
        conversation.toolCalls.push_back({normalizeToolName(block.name), block.input, nullptr, false});
      } else if (block.type == BlockType::ToolResult) {
        auto it = byId.find(block.id);
        if (it == byId.end()) continue;
        Json parsed = parseJson(block.text);
        conversation.toolCalls[it->second].result = parsed.is_discarded() ? Json(block.text) : parsed;
        conversation.toolCalls[it->second].isError = block.isError;
      }
    }
  }
  return conversation;
}

std::string findString(const Json& value, const std::vector<std::string>& keys) {
  if (value.is_object()) {
    for (const auto& key : keys) {
      auto it = value.find(key);
      if (it != value.end() && it->is_string() && !it->get<std::string>().empty()) return *it;
    }
    for (const auto& [key, child] : value.items()) {
      std::string found = findString(child, keys);
      if (!found.empty()) return found;
    }
  } else if (value.is_array()) {
    for (const auto& child : value) {
      std::string found = findString(child, keys);
      if (!found.empty()) return found;
    }
  }
  return "";
}

int64_t estimateTokens(const std::string& text) { return static_cast<int64_t>(text.size() / 4 + 1); }

}  // namespace mx::offline
