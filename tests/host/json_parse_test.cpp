// mx::parseJson against nlohmann's own parser: the same value (types
// included) or the same refusal, on fixed cases and on thousands of random
// documents and random corruptions of them.
#include "mx/json_parse.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace mx {
namespace {

Json viaNlohmann(std::string_view text) { return Json::parse(text, nullptr, false); }

// Equal as values and in every number's type (Json's == finds 1u equal to 1).
bool sameValue(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(), other = b.begin(); it != a.end(); ++it, ++other) {
        if (it.key() != other.key() || !sameValue(it.value(), other.value())) return false;
      }
      return true;
    }
    case Json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!sameValue(a[i], b[i])) return false;
      }
      return true;
    }
    case Json::value_t::number_float: {
      double x = a.get<double>(), y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    default: return a == b;
  }
}

void expectAgrees(std::string_view text) {
  Json expected = viaNlohmann(text);
  std::string error;
  Json actual = parseJson(text, &error);
  ASSERT_EQ(actual.is_discarded(), expected.is_discarded()) << "text: " << testing::PrintToString(std::string(text));
  if (!expected.is_discarded()) {
    EXPECT_TRUE(sameValue(actual, expected)) << "text: " << testing::PrintToString(std::string(text)) << "\nours: "
                                             << actual.dump() << "\nnlohmann: " << expected.dump();
  } else {
    EXPECT_NE(error.find(" at byte "), std::string::npos) << error;
  }
}

TEST(JsonParse, AgreesWithNlohmannOnFixedCases) {
  const char* cases[] = {
      "{}", "[]", "0", "-0", "1", "-1", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
      "-9223372036854775809", "1.5", "-1.5e10", "1E+2", "1e-2", "0.1", "123456789012345678901234567890", "1e400", "2e308",
      "-1e400", "1e-400", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "true", "false", "null",
      "\"\"", "\"plain\"", "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\u0041\\u00e9\\u20ac\"", "\"\\u0000 nul\"",
      "\"\\ud83d\\ude80 rocket\"", "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x80\"",
      " \t\n\r{ \"a\" : [ 1 , 2 , { \"b\" : null } ] , \"c\" : \"d\" } \r\n\t ", "{\"a\":1,\"a\":2}",
      "{\"a\":{\"x\":1},\"a\":[2]}", "\xEF\xBB\xBF{\"bom\":true}", "[[[[[]]]]]", "{\"\":\"\"}",
      // refused
      "", " ", "{", "}", "[", "]", "[1,]", "{\"a\":1,}", "{,}", "[,1]", "{\"a\" 1}", "{a:1}", "{'a':1}", "01", "-",
      "+1", ".5", "1.", "1e", "1e+", "-a", "0x10", "NaN", "Infinity", "tru", "nul", "truex", "nullnull", "[1 2]",
      "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud83d\"", "\"\\ud83d\\u0041\"",
      "\"\\ude80\"", "\"raw \n line\"", "\"tab\tinside\"", "\"\x7F del\"", "\"\xC3\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
      "\"\xF4\x90\x80\x80\"", "\"\xFF\"", "\"\x80\"", "1 2", "{} {}", "[1]x", "\xEF\xBB", "\xEF\xBB\xBF",
      "{\"a\":1}\x00", "\"a\\", "[\"a\\u\"]", "[1,{\"b\":[true,false,]}]"};
  for (const char* text : cases) expectAgrees(text);
  // Texts with a NUL inside (the C strings above end at one).
  expectAgrees(std::string_view("[1,\0]", 5));
  expectAgrees(std::string_view("\"a\0b\"", 5));
  expectAgrees(std::string_view("{\"a\":1}\0", 8));
}

TEST(JsonParse, GivesTheTypesNlohmannGives) {
  EXPECT_TRUE(parseJson("1").is_number_unsigned());
  EXPECT_TRUE(parseJson("-1").is_number_integer() && !parseJson("-1").is_number_unsigned());
  EXPECT_TRUE(parseJson("1.0").is_number_float());
  EXPECT_TRUE(parseJson("18446744073709551616").is_number_float());
  EXPECT_EQ(parseJson("{\"a\":1,\"a\":2}")["a"], 2);
  EXPECT_EQ(parseJson("\"\\u0000\"").get<std::string>(), std::string(1, '\0'));
}

TEST(JsonParse, RefusesNestingDeeperThanItsLimitAndSaysWhere) {
  std::string deep = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_FALSE(parseJson(deep).is_discarded());
  std::string tooDeep = "[" + deep + "]";
  std::string error;
  EXPECT_TRUE(parseJson(tooDeep, &error).is_discarded());
  EXPECT_EQ(error, "nested too deeply at byte " + std::to_string(kMaxJsonDepth));
  std::string objects;
  for (int i = 0; i <= kMaxJsonDepth; ++i) objects += "{\"k\":";
  objects += "1" + std::string(kMaxJsonDepth + 1, '}');
  EXPECT_TRUE(parseJson(objects).is_discarded());
  EXPECT_TRUE(parseJson("{\"a\":[1,}", &error).is_discarded());
  EXPECT_EQ(error, "unexpected character at byte 8");
}

// Random documents: every kind of value, keys and strings with escapes,
// non-ASCII and control characters, numbers of every type, random white space.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : random_(seed) {}

  std::string document() {
    std::string out;
    space(out);
    value(out, 0);
    space(out);
    return out;
  }

 private:
  size_t pick(size_t n) { return random_() % n; }

  void space(std::string& out) {
    static const char kSpace[] = {' ', '\t', '\n', '\r'};
    for (size_t i = pick(3) == 0 ? pick(3) : 0; i > 0; --i) out.push_back(kSpace[pick(4)]);
  }

  void value(std::string& out, int depth) {
    switch (depth > 4 ? 2 + pick(5) : pick(7)) {
      case 0: {
        out.push_back('{');
        for (size_t i = 0, n = pick(5); i < n; ++i) {
          if (i > 0) out.push_back(',');
          space(out);
          string(out);
          space(out);
          out.push_back(':');
          space(out);
          value(out, depth + 1);
          space(out);
        }
        out.push_back('}');
        break;
      }
      case 1: {
        out.push_back('[');
        for (size_t i = 0, n = pick(5); i < n; ++i) {
          if (i > 0) out.push_back(',');
          space(out);
          value(out, depth + 1);
          space(out);
        }
        out.push_back(']');
        break;
      }
      case 2:
      case 3: string(out); break;
      case 4: number(out); break;
      case 5: out.append(pick(2) == 0 ? "true" : "false"); break;
      default: out.append("null");
    }
  }

  void string(std::string& out) {
    static const char* kPieces[] = {"a",      "key",    " ",      "\\\"",   "\\\\",         "\\/",      "\\n",
                                    "\\t",    "\\u00e9", "\\u0000", "\\ud83d\\ude80", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x9A\x80",
                                    "0123456789abcdef0123456789", "\\b\\f\\r", "}", "]", ",", ":"};
    out.push_back('"');
    for (size_t i = pick(6); i > 0; --i) out.append(kPieces[pick(sizeof kPieces / sizeof *kPieces)]);
    out.push_back('"');
  }

  void number(std::string& out) {
    static const char* kNumbers[] = {"0",   "-0",    "7",     "-42",   "1.25",  "-0.5e-3", "6.02E23", "1e308",
                                     "9007199254740993", "18446744073709551615", "18446744073709551616",
                                     "-9223372036854775808", "-9223372036854775809", "3.141592653589793238462643383279"};
    if (pick(2) == 0) {
      out.append(kNumbers[pick(sizeof kNumbers / sizeof *kNumbers)]);
    } else {
      out.append(std::to_string(static_cast<int64_t>(random_()) - (1LL << 31)));
      if (pick(2) == 0) out.append("." + std::to_string(pick(100000)));
      if (pick(3) == 0) out.append((pick(2) == 0 ? "e-" : "e") + std::to_string(pick(40)));
    }
  }

  std::mt19937 random_;
};

TEST(JsonParse, AgreesWithNlohmannOnRandomDocuments) {
  RandomJson generate(20261129);
  for (int round = 0; round < 3000; ++round) {
    std::string text = generate.document();
    ASSERT_FALSE(viaNlohmann(text).is_discarded()) << text;  // the generator writes valid JSON
    expectAgrees(text);
    if (testing::Test::HasFailure()) return;
  }
}

TEST(JsonParse, AgreesWithNlohmannOnCorruptedDocuments) {
  RandomJson generate(7);
  std::mt19937 random(11);
  static const char kBytes[] = {'"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', '.', 'e', 'u',
                                'n', 't', '\x01', '\x7F', '\x80', '\xC3', '\xED', '\xF0', '\xFF', '\0'};
  for (int round = 0; round < 300000; ++round) {
    std::string text = generate.document();
    for (size_t edits = 1 + random() % 3; edits > 0 && !text.empty(); --edits) {
      size_t at = random() % text.size();
      switch (random() % 3) {
        case 0: text.erase(at, 1); break;
        case 1: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), kBytes[random() % sizeof kBytes]); break;
        default: text[at] = kBytes[random() % sizeof kBytes];
      }
    }
    expectAgrees(text);
    if (testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace mx
