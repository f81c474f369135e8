// mx/json_text.hpp — JSON text written straight into a buffer.
//
// What: appendJsonString writes `text` as a JSON string literal exactly as
// nlohmann::json::dump() does (the same escapes, UTF-8 kept as is), except that
// invalid UTF-8 becomes U+FFFD instead of an exception. For the hot paths (a
// model request body per call, an SSE event per token), where building a JSON
// tree only to serialise it costs more than the text itself. It skips plain
// ASCII eight bytes at a time. appendJson writes a whole value as dump() does
// (compact), its strings through appendJsonString: several times faster than
// dump() on text-heavy values such as a conversation, whose every byte dump()
// runs through a UTF-8 decoder.
// Thread-safety: pure functions. Ownership: appends to the caller's string.
// Blocking: never.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "mx/json.hpp"

namespace mx {

namespace json_text_detail {

// Length of the valid UTF-8 sequence at text[i], or 0 when it is invalid.
inline size_t utf8Length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length;
  uint32_t min;
  uint32_t code;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min = 0x80, code = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min = 0x800, code = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min = 0x10000, code = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    code = (code << 6) | (byte(i + k) & 0x3Fu);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

inline void appendEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out.append("\\\""); break;
    case '\\': out.append("\\\\"); break;
    case '\b': out.append("\\b"); break;
    case '\f': out.append("\\f"); break;
    case '\n': out.append("\\n"); break;
    case '\r': out.append("\\r"); break;
    case '\t': out.append("\\t"); break;
    default: {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out.append(escaped, 6);
    }
  }
}

// Eight bytes at a time (whole-word tests, exact as a whole for n <= 0x80).
constexpr uint64_t kEachByte = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

inline uint64_t word8(const char* at) {
  uint64_t word;
  std::memcpy(&word, at, sizeof word);
  return word;
}
inline bool anyByteBelow(uint64_t word, unsigned char n) { return ((word - kEachByte * n) & ~word & kHighBits) != 0; }
inline bool anyByteIs(uint64_t word, unsigned char c) { return anyByteBelow(word ^ (kEachByte * c), 1); }
inline bool allAscii(uint64_t word) { return (word & kHighBits) == 0; }

// True when none of the eight bytes needs escaping or a UTF-8 check: each is
// 0x20..0x7F and neither '"' nor '\\'.
inline bool plainAscii8(const char* at) {
  uint64_t word = word8(at);
  return allAscii(word) && !anyByteBelow(word, 0x20) && !anyByteIs(word, '"') && !anyByteIs(word, '\\');
}

}  // namespace json_text_detail

inline void appendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t plainFrom = 0;
  auto flushPlain = [&](size_t upTo) { out.append(text.substr(plainFrom, upTo - plainFrom)); };
  for (size_t i = 0; i < text.size();) {
    if (i + 8 <= text.size() && json_text_detail::plainAscii8(text.data() + i)) {
      i += 8;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t length = json_text_detail::utf8Length(text, i);
      if (length != 0) {
        i += length;
        continue;
      }
      flushPlain(i);
      out.append("\xEF\xBF\xBD");
      plainFrom = ++i;
      continue;
    }
    flushPlain(i);
    json_text_detail::appendEscape(out, c);
    plainFrom = ++i;
  }
  flushPlain(text.size());
  out.push_back('"');
}

// `value` as value.dump() writes it (compact; object keys in the tree's order),
// except that invalid UTF-8 in a string becomes U+FFFD instead of an exception.
inline void appendJson(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        appendJsonString(out, it.key());
        out.push_back(':');
        appendJson(out, it.value());
      }
      out.push_back('}');
      return;
    }
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value) {
        if (!first) out.push_back(',');
        first = false;
        appendJson(out, item);
      }
      out.push_back(']');
      return;
    }
    case Json::value_t::string: appendJsonString(out, value.get_ref<const std::string&>()); return;
    case Json::value_t::boolean: out.append(value.get<bool>() ? "true" : "false"); return;
    case Json::value_t::null: out.append("null"); return;
    default: out.append(value.dump());  // numbers (and binary) as nlohmann formats them
  }
}

inline std::string jsonText(const Json& value) {
  std::string out;
  appendJson(out, value);
  return out;
}

}  // namespace mx
