// mx/json_text.hpp — JSON text written straight into a buffer.
//
// What: appendJsonString writes `text` as a JSON string literal exactly as
// nlohmann::json::dump() does (the same escapes, UTF-8 kept as is), except that
// invalid UTF-8 becomes U+FFFD instead of an exception. For the hot paths (a
// model request body per call, an SSE event per token), where building a JSON
// tree only to serialise it costs more than the text itself. It copies plain
// ASCII sixteen bytes at a time (SSE2; eight without it) through a raw pointer
// and stops only at the bytes that need a look. appendJson writes a whole value as dump()
// does (compact), its strings through appendJsonString: several times faster than
// dump() on text-heavy values such as a conversation, whose every byte dump()
// runs through a UTF-8 decoder.
// Thread-safety: pure functions. Ownership: appends to the caller's string.
// Blocking: never.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// `code` (a Unicode scalar value) as UTF-8.
inline void appendUtf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
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

inline bool isSpecial(unsigned char c) { return c < 0x20 || c >= 0x80 || c == '"' || c == '\\'; }

// The index of the first byte from `at` that is not plain ASCII (below 0x20,
// 0x80 or above, '"' or '\\'), or text.size(). Sixteen bytes a step with SSE2
// (one signed compare flags both the control bytes and the non-ASCII ones),
// jumping straight to the special byte; else eight at a time.
inline size_t nextSpecial(std::string_view text, size_t at) {
  const char* data = text.data();
  size_t size = text.size();
#if defined(__SSE2__)
  const __m128i below = _mm_set1_epi8(0x20);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; at + 16 <= size; at += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at));
    __m128i special = _mm_or_si128(_mm_cmplt_epi8(bytes, below),
                                   _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
    int mask = _mm_movemask_epi8(special);
    if (mask != 0) return at + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; at + 8 <= size && plainAscii8(data + at); at += 8) {
  }
  for (; at < size; ++at) {
    if (isSpecial(static_cast<unsigned char>(data[at]))) return at;
  }
  return size;
}

// The byte at text[i] needs a look (isSpecial): writes its escape, or the
// valid UTF-8 sequence it starts, or U+FFFD for an invalid one, at out[at]
// (room for six bytes is the caller's); returns the index after what it used.
inline size_t writeSpecial(std::string_view text, size_t i, char* out, size_t& at) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  if (c == '"' || c == '\\') {
    out[at++] = '\\';
    out[at++] = static_cast<char>(c);
    return i + 1;
  }
  if (c >= 0x80) {
    size_t length = utf8Length(text, i);
    if (length == 0) {
      std::memcpy(out + at, "\xEF\xBF\xBD", 3);
      at += 3;
      return i + 1;
    }
    std::memcpy(out + at, text.data() + i, length);
    at += length;
    return i + length;
  }
  const char* named = nullptr;
  switch (c) {
    case '\b': named = "\\b"; break;
    case '\f': named = "\\f"; break;
    case '\n': named = "\\n"; break;
    case '\r': named = "\\r"; break;
    case '\t': named = "\\t"; break;
    default: break;
  }
  if (named != nullptr) {
    std::memcpy(out + at, named, 2);
    at += 2;
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    std::memcpy(out + at, "\\u00", 4);
    out[at + 4] = kHex[c >> 4];
    out[at + 5] = kHex[c & 0xF];
    at += 6;
  }
  return i + 1;
}

// Text this short (most of a stream's deltas: a word or two; keys, short ids)
// is escaped into a buffer on the stack, eight plain bytes a step, and
// appended once: growing the string ahead (zero-filled) and shrinking it after
// cost more than the text (a five-byte delta in its event's JSON: ~210
// instructions, ~145 this way; −0.8 % of the server's instructions per turn).
// Past sixteen bytes the sixteen-byte steps below win.
inline constexpr size_t kShortText = 16;

inline void appendShortJsonString(std::string& out, std::string_view text) {
  char buffer[kShortText * 6 + 2];  // six bytes at most per byte (\u00XX); UTF-8 is copied, U+FFFD is three
  size_t at = 0;
  buffer[at++] = '"';
  for (size_t i = 0; i < text.size();) {
    if (i + 8 <= text.size() && plainAscii8(text.data() + i)) {
      std::memcpy(buffer + at, text.data() + i, 8);
      at += 8;
      i += 8;
      continue;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (!isSpecial(c)) {
      buffer[at++] = static_cast<char>(c);
      ++i;
    } else {
      i = writeSpecial(text, i, buffer, at);
    }
  }
  buffer[at++] = '"';
  out.append(buffer, at);
}

}  // namespace json_text_detail

// Written through a raw pointer into room made ahead (the string grows when
// the escapes outrun it), not run by run through std::string::append: text
// that is itself JSON (a tool's result in a request body or a checkpoint) has
// a quote every few bytes, and each append was a call, a capacity check and a
// copy of a short run. With SSE2, sixteen bytes are stored at a time and the
// write position moves only past the plain ones.
inline void appendJsonString(std::string& out, std::string_view text) {
  const char* data = text.data();
  size_t n = text.size();
  if (n <= json_text_detail::kShortText) {
    json_text_detail::appendShortJsonString(out, text);
    return;
  }
  size_t at = out.size();
  out.resize(at + n + n / 8 + 32);  // the usual case: a few escapes
  char* base = out.data();
  auto makeRoom = [&](size_t bytes) {
    if (out.size() - at >= bytes) return;
    out.resize(std::max(out.size() * 2, at + bytes));
    base = out.data();
  };
  base[at++] = '"';
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i below = _mm_set1_epi8(0x20);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (i + 16 <= n) {
    makeRoom(16 + 6);
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    __m128i special = _mm_or_si128(_mm_cmplt_epi8(bytes, below),
                                   _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(base + at), bytes);  // the plain ones stay, the rest is overwritten
    int mask = _mm_movemask_epi8(special);
    if (mask == 0) {
      at += 16;
      i += 16;
      continue;
    }
    size_t plain = static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    at += plain;
    i = json_text_detail::writeSpecial(text, i + plain, base, at);
  }
#endif
  while (i < n) {  // the last bytes (or all of them without SSE2)
    size_t special = json_text_detail::nextSpecial(text, i);
    makeRoom(special - i + 6);
    std::memcpy(base + at, data + i, special - i);
    at += special - i;
    i = special < n ? json_text_detail::writeSpecial(text, special, base, at) : n;
  }
  makeRoom(1);
  base[at++] = '"';
  out.resize(at);
}

namespace json_text_detail {
// A number as dump() writes it, without dump()'s serializer and string per
// number: integers in decimal, floats by nlohmann's own shortest round-trip
// formatting (its to_chars: "1.0", "-0.0", "1e-07"), not finite as null.
inline void appendNumber(std::string& out, const Json& value) {
  char buffer[64];
  char* end = buffer;
  switch (value.type()) {
    case Json::value_t::number_integer:
      end = std::to_chars(buffer, buffer + sizeof buffer, value.get<Json::number_integer_t>()).ptr;
      break;
    case Json::value_t::number_unsigned:
      end = std::to_chars(buffer, buffer + sizeof buffer, value.get<Json::number_unsigned_t>()).ptr;
      break;
    case Json::value_t::number_float: {
      double number = value.get<Json::number_float_t>();
      if (!std::isfinite(number)) {
        out.append("null");
        return;
      }
      end = nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, number);
      break;
    }
    default:
      out.append(value.dump());  // binary
      return;
  }
  out.append(buffer, static_cast<size_t>(end - buffer));
}
}  // namespace json_text_detail

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
    default: json_text_detail::appendNumber(out, value);
  }
}

inline std::string jsonText(const Json& value) {
  std::string out;
  appendJson(out, value);
  return out;
}

}  // namespace mx
