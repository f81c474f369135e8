#include "knowledge/chunker.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

namespace mx::host::knowledge {

namespace {

std::string lower(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

std::string decodeEntities(std::string text) {
  const std::vector<std::pair<std::string, std::string>> entities = {
      {"&nbsp;", " "}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&rsquo;", "'"}};
  for (const auto& [from, to] : entities) {
    for (size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
  }
  return text;
}

std::string trim(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  size_t e = text.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

// Splits at sentence ends into pieces no longer than `limit` (hard cut as a last resort).
std::vector<std::string> splitLong(const std::string& text, size_t limit) {
  std::vector<std::string> pieces;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    current.push_back(text[i]);
    bool sentenceEnd = (text[i] == '.' || text[i] == '!' || text[i] == '?') && (i + 1 == text.size() || text[i + 1] == ' ');
    if ((sentenceEnd && current.size() >= limit / 2) || current.size() >= limit) {
      pieces.push_back(trim(current));
      current.clear();
    }
  }
  if (!trim(current).empty()) pieces.push_back(trim(current));
  return pieces;
}

}  // namespace

std::string htmlToText(const std::string& html) {
  std::string text = std::regex_replace(html, std::regex(R"(<(script|style)[^>]*>[\s\S]*?</\1>)", std::regex::icase), "");
  for (int level = 1; level <= 6; ++level) {  // <hN> becomes a Markdown heading of level N
    text = std::regex_replace(text, std::regex("<h" + std::to_string(level) + "[^>]*>", std::regex::icase),
                              "\n\n" + std::string(static_cast<size_t>(level), '#') + " ");
  }
  text = std::regex_replace(text, std::regex(R"(</h[1-6]>)", std::regex::icase), "\n\n");
  text = std::regex_replace(text, std::regex(R"(<(br|/p|/div|/li|/tr|p|div|li)[^>]*>)", std::regex::icase), "\n\n");
  text = std::regex_replace(text, std::regex(R"(<[^>]+>)"), "");
  return decodeEntities(text);
}

std::vector<Chunk> chunkDocument(const std::string& content, const std::string& format, const ChunkOptions& options) {
  std::string text = lower(format) == "html" ? htmlToText(content) : content;
  struct Paragraph {
    std::string heading;
    std::string text;
  };
  std::vector<Paragraph> paragraphs;
  std::vector<std::string> headings;  // by level
  std::string current;
  auto headingPath = [&] {
    std::string path;
    for (const auto& h : headings) {
      if (!h.empty()) path += (path.empty() ? "" : " > ") + h;
    }
    return path;
  };
  auto flush = [&] {
    std::string paragraph = trim(current);
    if (!paragraph.empty()) paragraphs.push_back({headingPath(), paragraph});
    current.clear();
  };
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::string stripped = trim(line);
    if (stripped.empty()) {
      flush();
      continue;
    }
    if (lower(format) != "text" && stripped.front() == '#') {
      flush();
      size_t level = stripped.find_first_not_of('#');
      std::string title = trim(stripped.substr(level == std::string::npos ? stripped.size() : level));
      headings.resize(std::min<size_t>(level, 6));
      if (!headings.empty()) headings.back() = title;
      continue;
    }
    current += (current.empty() ? "" : "\n") + stripped;
  }
  flush();

  std::vector<Chunk> chunks;
  Chunk building;
  auto emit = [&] {
    if (trim(building.text).empty()) return;
    chunks.push_back(building);
    std::string tail = building.text.size() > options.overlapChars
                           ? building.text.substr(building.text.size() - options.overlapChars)
                           : building.text;
    auto space = tail.find(' ');
    building.text = options.overlapChars == 0 || space == std::string::npos ? "" : tail.substr(space + 1) + "\n\n";
  };
  for (const auto& paragraph : paragraphs) {
    for (const auto& piece : paragraph.text.size() > options.maxChars ? splitLong(paragraph.text, options.maxChars)
                                                                      : std::vector<std::string>{paragraph.text}) {
      bool newSection = !chunks.empty() || !building.text.empty() ? building.heading != paragraph.heading : false;
      if (newSection || building.text.size() + piece.size() > options.maxChars) {
        emit();
        if (newSection) building.text.clear();  // no overlap across sections
      }
      building.heading = paragraph.heading;
      building.text += piece + "\n\n";
    }
  }
  emit();
  for (auto& chunk : chunks) chunk.text = trim(chunk.text);
  return chunks;
}

}  // namespace mx::host::knowledge
