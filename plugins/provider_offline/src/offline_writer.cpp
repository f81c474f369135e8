#include "offline_writer.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

#include "request_text.hpp"
#include "mx/json_parse.hpp"

namespace mx::offline {

namespace {

std::string lower(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

bool mentions(const std::string& slot, std::initializer_list<const char*> words) {
  std::string s = lower(slot);
  for (const char* w : words) {
    if (s.find(w) != std::string::npos) return true;
  }
  return false;
}

std::string str(const Json& brief, const char* key, const std::string& fallback = "") {
  return brief.contains(key) && brief[key].is_string() && !brief[key].get<std::string>().empty() ? brief[key].get<std::string>()
                                                                                                   : fallback;
}

// The first `count` sentences of `text`, whitespace folded.
std::string sentences(const std::string& text, size_t count) {
  std::string folded;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!folded.empty() && folded.back() != ' ') folded.push_back(' ');
    } else {
      folded.push_back(c);
    }
  }
  std::string out;
  size_t found = 0;
  for (size_t i = 0; i < folded.size() && found < count; ++i) {
    out.push_back(folded[i]);
    if ((folded[i] == '.' || folded[i] == '!' || folded[i] == '?') && (i + 1 == folded.size() || folded[i + 1] == ' ')) {
      ++found;
    }
  }
  while (!out.empty() && out.front() == ' ') out.erase(out.begin());
  return out;
}

struct Draft {
  std::string contentType;
  std::string topic;
  std::string audience;
  std::string guidance;
  std::string research;
  Json rules;
};

std::string callToAction(const Draft& d) {
  if (d.contentType == "script") return "Tap the link below to see the " + d.topic + ".";
  if (d.contentType == "landing-page") return "Get started with the " + d.topic;
  return "Shop the " + d.topic + " now";
}

std::string requiredDisclaimer(const Draft& d) {
  for (const auto& rule : d.rules) {
    if (!rule.is_object()) continue;
    std::string type = rule.value("type", "");
    if ((type == "required_disclaimer" || type == "required_phrase") && rule.contains("phrase")) {
      return rule["phrase"];
    }
  }
  return "";
}

std::string fillSlot(const std::string& slot, const Draft& d) {
  std::string topic = titleCase(d.topic);
  if (mentions(slot, {"subject", "headline", "title"})) return topic + ": made for " + d.audience;
  if (mentions(slot, {"preheader", "subhead", "tagline"})) return "Everything you need to know about the " + d.topic + ", in one place.";
  if (mentions(slot, {"greeting", "salutation"})) return "Hi there,";
  if (mentions(slot, {"hook", "opening", "intro", "attention"}))
    return "The " + d.topic + " is here, and we made it with " + d.audience + " in mind.";
  if (mentions(slot, {"cta", "call_to_action", "call-to-action", "button", "action"})) return callToAction(d);
  if (mentions(slot, {"disclaimer", "legal", "unsubscribe", "footer"})) {
    std::string standard = d.contentType == "email"
                               ? "You are receiving this because you subscribed. Unsubscribe at any time."
                               : "Terms apply. See our privacy policy for how we use your data.";
    std::string required = requiredDisclaimer(d);
    // A required text that is a whole sentence replaces ours; a keyword is already covered.
    return required.size() > 30 ? required : standard;
  }
  if (mentions(slot, {"signoff", "sign_off", "closing", "signature"})) return "See you soon,\nThe team";
  if (mentions(slot, {"proof", "testimonial", "social"}))
    return d.research.empty() ? "Customers who tried it tell us it fits right into their week." : sentences(d.research, 1);
  if (mentions(slot, {"scene", "visual", "shot"})) return "Close-up of the product in use, bright natural light.";
  std::string source = d.guidance.empty() ? d.research : d.guidance;
  if (!source.empty()) return sentences(source, 2);
  return "Here is what makes the " + d.topic + " worth your time: it is simple, it is timely, and it is built for " +
         d.audience + ".";
}

std::string defaultTemplate(const std::string& contentType) {
  if (contentType == "email")
    return "Subject: {{subject}}\n\n{{greeting}}\n\n{{hook}}\n\n{{body}}\n\n{{cta}}\n\n{{signoff}}\n\n{{disclaimer}}";
  if (contentType == "ad") return "{{headline}}\n\n{{body}}\n\n{{cta}}";
  if (contentType == "landing-page")
    return "# {{headline}}\n\n{{subheadline}}\n\n## Why it matters\n\n{{body}}\n\n## What people say\n\n{{proof}}\n\n[{{cta}}]";
  return "HOOK (0-3s): {{hook}}\n\nSCENE: {{scene}}\n\nVOICEOVER: {{body}}\n\nCLOSE: {{cta}}";
}

std::string pickTemplate(const Json& templates, const std::string& contentType) {
  if (templates.is_array()) {
    for (const auto& t : templates) {
      if (t.is_object() && t.contains("body") && t["body"].is_string()) return t["body"];
      if (t.is_string() && t.get<std::string>().find("{{") != std::string::npos) return t;
    }
  }
  return defaultTemplate(contentType);
}

std::string applyComplianceRules(std::string text, const Json& rules) {
  for (const auto& rule : rules) {
    if (!rule.is_object()) continue;
    std::string type = rule.value("type", "");
    if ((type == "required_phrase" || type == "required_disclaimer") && rule.contains("phrase")) {
      std::string phrase = rule["phrase"];
      if (lower(text).find(lower(phrase)) == std::string::npos) text += "\n\n" + phrase;
    } else if (type == "banned_phrase" && rule.contains("phrase")) {
      std::string phrase = rule["phrase"];
      for (size_t at; (at = lower(text).find(lower(phrase))) != std::string::npos;) text.erase(at, phrase.size());
    }
  }
  return text;
}

std::vector<std::string> splitWords(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Cuts after the n-th word but keeps the line structure (subject line, body).
std::string firstWords(const std::string& text, size_t n) {
  size_t seen = 0;
  bool inWord = false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool space = std::isspace(static_cast<unsigned char>(text[i])) != 0;
    if (!space && !inWord && seen++ == n) {
      size_t end = i;
      while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
      return text.substr(0, end);
    }
    inWord = !space;
  }
  return text;
}

// A revision brief carries the violations of the previous draft: fix the ones
// a writer can fix mechanically (length, subject line), as a model would.
std::string applyRevision(std::string text, const Json& brief) {
  if (!brief.contains("revision") || !brief["revision"].contains("violations")) return text;
  const Json& rules = arrayMember(brief, "complianceRules");
  for (const auto& violation : brief["revision"]["violations"]) {
    std::string ruleId = violation.value("ruleId", "");
    for (const auto& rule : rules) {
      if (!rule.is_object() || rule.value("id", "") != ruleId) continue;
      std::string type = rule.value("type", "");
      int64_t limit = rule.value("value", int64_t{0});
      if (type == "max_words" && limit > 0) {
        std::string required;
        for (const auto& r : rules) {
          if (r.is_object() && (r.value("type", "") == "required_phrase" || r.value("type", "") == "required_disclaimer")) {
            required += " " + r.value("phrase", "");
          }
        }
        size_t keep = static_cast<size_t>(std::max<int64_t>(1, limit - static_cast<int64_t>(splitWords(required).size())));
        text = firstWords(text, keep);
      } else if (type == "subject_max_chars" && limit > 0) {
        auto at = lower(text).find("subject:");
        if (at != std::string::npos) {
          size_t start = at + 9;
          size_t end = text.find('\n', start);
          std::string subject = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
          if (static_cast<int64_t>(subject.size()) > limit) text.replace(start, subject.size(), subject.substr(0, static_cast<size_t>(limit)));
        }
      }
    }
  }
  return text;
}

}  // namespace

Json readBrief(const std::string& prompt) {
  auto open = prompt.find("<brief>");
  auto close = prompt.find("</brief>");
  if (open != std::string::npos && close != std::string::npos && close > open) {
    Json brief = parseJson(prompt.substr(open + 7, close - open - 7));
    if (brief.is_object()) return brief;
  }
  Json whole = parseJson(prompt);
  if (whole.is_object()) return whole;
  return {{"contentType", detectContentType(prompt).value_or("email")}, {"objective", prompt}};
}

std::string writeArtifact(const Json& brief) {
  Draft d;
  d.contentType = str(brief, "contentType", "email");
  d.topic = extractTopic(str(brief, "objective", "our latest news"));
  d.audience = str(brief, "targetAudience", "our customers");
  d.guidance = str(brief, "brandGuidelines");
  d.research = str(brief, "research");
  d.rules = arrayMember(brief, "complianceRules");
  std::string body = pickTemplate(memberOrNull(brief, "templates"), d.contentType);
  static const std::regex slot(R"(\{\{\s*([A-Za-z0-9_\-]+)\s*\}\})");
  std::string out;
  auto begin = std::sregex_iterator(body.begin(), body.end(), slot);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += body.substr(last, static_cast<size_t>(it->position()) - last);
    out += fillSlot((*it)[1].str(), d);
    last = static_cast<size_t>(it->position() + it->length());
  }
  out += body.substr(last);
  return applyComplianceRules(applyRevision(out, brief), d.rules);
}

std::string summarizeTranscript(const std::string& request) {
  auto firstSentence = [](std::string text) {
    size_t end = text.find_first_of(".!?\n");
    if (end != std::string::npos) text = text.substr(0, end + 1);
    return text.size() > 160 ? text.substr(0, 160) + "…" : text;
  };
  std::string summary;
  size_t previous = request.find("Previous summary:\n");
  size_t conversation = request.find("Conversation:\n");
  if (previous != std::string::npos && conversation != std::string::npos && previous < conversation) {
    summary = request.substr(previous + 18, conversation - previous - 18);
    while (!summary.empty() && (summary.back() == '\n' || summary.back() == ' ')) summary.pop_back();
  }
  size_t start = conversation == std::string::npos ? 0 : conversation + 14;
  size_t words = 0;
  for (size_t i = start; i < request.size();) {
    size_t end = request.find('\n', i);
    if (end == std::string::npos) end = request.size();
    std::string line = request.substr(i, end - i);
    i = end + 1;
    for (const char* who : {"User: ", "Assistant: "}) {
      if (line.rfind(who, 0) != 0) continue;
      std::string sentence = (who[0] == 'U' ? "The user said: " : "MarketerX said: ") + firstSentence(line.substr(std::string(who).size()));
      summary += (summary.empty() ? "" : " ") + sentence;
      words += static_cast<size_t>(std::count(sentence.begin(), sentence.end(), ' ')) + 1;
    }
    if (words > 300) break;
  }
  return summary.empty() ? "Earlier turns had no text." : summary;
}

}  // namespace mx::offline
