// mx/json_parse.hpp — JSON text read into an mx::Json, faster than nlohmann's parser.
//
// What: parseJson(text) gives the value `Json::parse(text, nullptr, false)`
// gives for the same text, and a discarded value (is_discarded()) where that
// one does: RFC 8259 strictly (one value, only ' ', '\t', '\n', '\r' around
// it, a UTF-8 byte order mark skipped first), strings checked as UTF-8 and
// free of control bytes, escapes including surrogate pairs, duplicate keys
// resolved to the last, numbers typed as nlohmann types them (unsigned without
// a '-', signed with one, double with a fraction or an exponent or beyond 64
// bits; beyond a double's range refused), and, as nlohmann's lexer, a NUL
// byte after the value ends the text. One difference: values nested more than kMaxJsonDepth deep are
// refused (nlohmann has no limit; a recursive reader needs one).
// Why: on the hot paths (every non-delta event of a model stream, every tool's
// arguments, every search response) nlohmann's lexer reads a byte at a time
// through its input adapter and copies each one into an error-report buffer;
// this reader scans strings sixteen bytes a step (json_text_detail::nextSpecial)
// and appends whole runs, about three times less work per byte.
// Thread-safety: pure functions. Ownership: returns a new value. Blocking: never.
#pragma once

#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mx/json.hpp"
#include "mx/json_text.hpp"

namespace mx {

inline constexpr int kMaxJsonDepth = 512;

namespace json_parse_detail {

class Reader {
 public:
  explicit Reader(std::string_view text) : begin_(text.data()), at_(text.data()), end_(text.data() + text.size()) {}

  bool document(Json& out) {
    if (end_ - at_ >= 3 && std::string_view(at_, 3) == "\xEF\xBB\xBF") at_ += 3;
    skipSpace();
    if (!value(out, 0)) return false;
    skipSpace();
    // nlohmann's lexer takes a NUL byte for the end of the input: what follows one is not read.
    return at_ == end_ || *at_ == '\0' || fail("unexpected text after the value");
  }

  // From `at`, just after a string's opening quote: its contents, unescaped,
  // appended to `out`; `at` ends just after the closing quote.
  bool stringContents(size_t& at, std::string& out) {
    at_ = begin_ + at;
    bool read = contents(out);
    at = offset();
    return read;
  }

  size_t offset() const { return static_cast<size_t>(at_ - begin_); }
  const char* error() const { return error_; }

 private:
  bool fail(const char* message) {
    error_ = message;
    return false;
  }

  void skipSpace() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
  }

  bool value(Json& out, int depth) {
    if (at_ == end_) return fail("unexpected end of the text");
    switch (*at_) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        out = std::string();
        return string(out.get_ref<std::string&>());
      }
      case 't': return literal("true", Json(true), out);
      case 'f': return literal("false", Json(false), out);
      case 'n': return literal("null", Json(nullptr), out);
      default: return number(out);
    }
  }

  bool literal(std::string_view word, Json value, Json& out) {
    if (static_cast<size_t>(end_ - at_) < word.size() || std::string_view(at_, word.size()) != word) {
      return fail("invalid literal");
    }
    at_ += word.size();
    out = std::move(value);
    return true;
  }

  bool object(Json& out, int depth) {
    bool closed = false;
    if (!open('}', depth, closed)) return false;
    auto& members = (out = Json::object()).get_ref<Json::object_t&>();
    while (!closed) {
      if (at_ == end_ || *at_ != '"') return fail("expected a string key");
      std::string key;
      if (!string(key)) return false;
      skipSpace();
      if (at_ == end_ || *at_ != ':') return fail("expected ':' after a key");
      ++at_;
      skipSpace();
      auto [member, added] = members.try_emplace(std::move(key));
      if (!added) member->second = Json();  // the last of duplicate keys wins
      if (!value(member->second, depth) || !next('}', "expected ',' or '}' in an object", closed)) return false;
    }
    return true;
  }

  bool array(Json& out, int depth) {
    bool closed = false;
    if (!open(']', depth, closed)) return false;
    auto& items = (out = Json::array()).get_ref<Json::array_t&>();
    while (!closed) {
      if (!value(items.emplace_back(), depth) || !next(']', "expected ',' or ']' in an array", closed)) return false;
    }
    return true;
  }

  // At '{' or '[' (`depth` containers deep): steps in; `closed` when `close` follows at once (an empty one).
  bool open(char close, int depth, bool& closed) {
    if (depth > kMaxJsonDepth) return fail("nested too deeply");
    ++at_;
    skipSpace();
    closed = at_ != end_ && *at_ == close;
    if (closed) ++at_;
    return true;
  }

  // After a member or an item: a ',' (then the next one follows) or `close` (then `closed`).
  bool next(char close, const char* otherwise, bool& closed) {
    skipSpace();
    if (at_ == end_) return fail(close == '}' ? "unexpected end of the text in an object" : "unexpected end of the text in an array");
    closed = *at_ == close;
    if (!closed && *at_ != ',') return fail(otherwise);
    ++at_;
    if (!closed) skipSpace();
    return true;
  }

  // At the opening quote; appends the decoded string to `out`.
  bool string(std::string& out) {
    ++at_;
    return contents(out);
  }

  bool contents(std::string& out) {
    for (;;) {
      std::string_view rest(at_, static_cast<size_t>(end_ - at_));
      size_t plain = json_text_detail::nextSpecial(rest, 0);
      out.append(at_, plain);
      at_ += plain;
      if (at_ == end_) return fail("unterminated string");
      auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c == '\\') {
        if (!escape(out)) return false;
      } else if (c < 0x20) {
        return fail("control character in a string");
      } else {
        size_t length = json_text_detail::utf8Length(std::string_view(at_, static_cast<size_t>(end_ - at_)), 0);
        if (length == 0) return fail("invalid UTF-8 in a string");
        out.append(at_, length);
        at_ += length;
      }
    }
  }

  bool escape(std::string& out) {
    if (end_ - at_ < 2) return fail("unterminated escape");
    char kind = at_[1];
    at_ += 2;
    switch (kind) {
      case '"': out.push_back('"'); return true;
      case '\\': out.push_back('\\'); return true;
      case '/': out.push_back('/'); return true;
      case 'b': out.push_back('\b'); return true;
      case 'f': out.push_back('\f'); return true;
      case 'n': out.push_back('\n'); return true;
      case 'r': out.push_back('\r'); return true;
      case 't': out.push_back('\t'); return true;
      case 'u': return unicodeEscape(out);
      default: at_ -= 2; return fail("invalid escape");
    }
  }

  bool hex4(uint32_t& code) {
    if (end_ - at_ < 4) return fail("incomplete \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char c = at_[i];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("invalid \\u escape");
      }
      code = code * 16 + digit;
    }
    at_ += 4;
    return true;
  }

  bool unicodeEscape(std::string& out) {
    uint32_t code;
    if (!hex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return fail("a low surrogate without a high one");
    if (code >= 0xD800 && code <= 0xDBFF) {
      uint32_t low;
      if (end_ - at_ < 2 || at_[0] != '\\' || at_[1] != 'u') return fail("a high surrogate without a low one");
      at_ += 2;
      if (!hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return fail("a high surrogate without a low one");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    json_text_detail::appendUtf8(out, code);
    return true;
  }

  bool digits() {
    const char* from = at_;
    while (at_ != end_ && *at_ >= '0' && *at_ <= '9') ++at_;
    return at_ != from;
  }

  // RFC 8259's grammar first, then the value: the integer types when it has
  // neither fraction nor exponent and fits, else a double (as nlohmann).
  bool number(Json& out) {
    const char* from = at_;
    bool negative = *at_ == '-';
    if (negative) ++at_;
    if (at_ == end_ || *at_ < '0' || *at_ > '9') return fail(negative ? "expected a digit after '-'" : "unexpected character");
    if (*at_ == '0') {
      ++at_;
    } else {
      digits();
    }
    bool integral = true;
    if (at_ != end_ && *at_ == '.') {
      ++at_;
      if (!digits()) return fail("expected a digit after '.'");
      integral = false;
    }
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      ++at_;
      if (at_ != end_ && (*at_ == '+' || *at_ == '-')) ++at_;
      if (!digits()) return fail("expected a digit in the exponent");
      integral = false;
    }
    if (integral) {
      if (negative) {
        int64_t value;
        if (std::from_chars(from, at_, value).ec == std::errc()) {
          out = value;
          return true;
        }
      } else {
        uint64_t value;
        if (std::from_chars(from, at_, value).ec == std::errc()) {
          out = value;
          return true;
        }
      }
    }
    double value;
    auto read = std::from_chars(from, at_, value);
    if (read.ec == std::errc::result_out_of_range) {
      value = outOfRange(from);  // nearer zero than the smallest double: strtod's zero is kept
      if (!std::isfinite(value)) return fail("number out of range");  // nlohmann refuses infinities
    } else if (read.ec != std::errc() || read.ptr != at_) {
      return fail("invalid number");
    }
    out = value;
    return true;
  }

  // strtod's answer for a number from_chars finds out of range (rare: beyond
  // ±1.8e308 or nearer zero than 4.9e-324), with the locale's decimal point.
  double outOfRange(const char* from) const {
    std::string copy(from, at_);
    const char* point = std::localeconv()->decimal_point;
    for (char& c : copy) {
      if (c == '.' && point != nullptr && point[0] != '\0') c = point[0];
    }
    return std::strtod(copy.c_str(), nullptr);
  }

  const char* begin_;
  const char* at_;
  const char* end_;
  const char* error_ = "";
};

}  // namespace json_parse_detail

// A JSON string's contents from `at` (just after its opening quote) to its
// closing quote, unescaped and checked as parseJson checks strings, into `out`
// (replacing what it held); `at` ends just after the closing quote. False, at
// the first byte that is wrong, when it is not a valid string.
inline bool readJsonString(std::string_view text, size_t& at, std::string& out) {
  out.clear();
  return json_parse_detail::Reader(text).stringContents(at, out);
}

// The value of `text`, or a discarded value (is_discarded()) when it is not
// one JSON value; then `error` (when given) says what and at which byte.
inline Json parseJson(std::string_view text, std::string* error = nullptr) {
  json_parse_detail::Reader reader(text);
  Json value;
  if (reader.document(value)) return value;
  if (error != nullptr) *error = std::string(reader.error()) + " at byte " + std::to_string(reader.offset());
  return Json(Json::value_t::discarded);
}

}  // namespace mx
