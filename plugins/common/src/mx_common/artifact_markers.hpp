// The writer's artifact as Tier 1 sees it: its text between XML markers that
// name it, `<artifact id="art_…" type="email">\n…\n</artifact>` (the
// architecture's "structured artifact with XML markers"). The writer's tool
// result carries the text this way only, not a second time bare: every later
// Tier 1 call sends the result again, and a checkpoint stores it.
// The markers are for the model, not for an XML parser: the text inside is not
// escaped; the attribute values are.
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mx::common {

namespace artifact_detail {

inline void appendAttributeValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '"': out.append("&quot;"); break;
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;  // unwrapArtifact finds the opening marker's end by its '>'
      default: out.push_back(c);
    }
  }
}

constexpr std::string_view kOpen = "<artifact";
constexpr std::string_view kClose = "\n</artifact>";

inline bool isSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace artifact_detail

// `text` between markers naming `id` and `type`.
inline std::string wrapArtifact(std::string_view id, std::string_view type, std::string_view text) {
  using namespace artifact_detail;
  std::string out;
  out.reserve(text.size() + id.size() + type.size() + 40);
  out.append(kOpen).append(" id=\"");
  appendAttributeValue(out, id);
  out.append("\" type=\"");
  appendAttributeValue(out, type);
  out.append("\">\n").append(text).append(kClose);
  return out;
}

// The text inside an artifact's markers, when `text` is one artifact wrapped
// (white space around it allowed); otherwise `text` itself, so that a tool
// given either the writer's result or bare text (a model may pass either)
// works on the bare text.
inline std::string_view unwrapArtifact(std::string_view text) {
  using namespace artifact_detail;
  size_t begin = 0, end = text.size();
  while (begin < end && isSpace(text[begin])) ++begin;
  while (end > begin && isSpace(text[end - 1])) --end;
  std::string_view whole = text.substr(begin, end - begin);
  if (whole.substr(0, kOpen.size()) != kOpen || whole.size() < kOpen.size() + kClose.size()) return text;
  char after = whole[kOpen.size()];
  if (after != ' ' && after != '>') return text;
  if (whole.substr(whole.size() - kClose.size()) != kClose) return text;
  size_t openEnd = whole.find(">\n");
  size_t closeAt = whole.size() - kClose.size();
  if (openEnd == std::string_view::npos || openEnd + 1 > closeAt) return text;
  if (openEnd + 1 == closeAt) return {};  // `<artifact …>` and the closing marker share the line break: empty
  return whole.substr(openEnd + 2, closeAt - (openEnd + 2));
}

}  // namespace mx::common
