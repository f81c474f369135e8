#include "pg_sql.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <pqxx/pqxx>

#include "mx_common/search_words.hpp"

namespace mx::pg {

Status statusForSqlState(std::string_view sqlstate, std::string message) {
  if (sqlstate == "23505") return alreadyExistsError(std::move(message));
  if (sqlstate == "57014") return deadlineExceededError(std::move(message));
  if (sqlstate.substr(0, 2) == "08" || sqlstate.substr(0, 3) == "57P" || sqlstate == "53300" || sqlstate == "40001" ||
      sqlstate == "40P01") {
    return unavailableError(std::move(message));  // connection, shutdown, too many clients, retryable conflicts
  }
  if (sqlstate.substr(0, 2) == "22") return invalidArgumentError(std::move(message));  // data exceptions
  if (sqlstate == "3D000" || sqlstate == "28000" || sqlstate == "28P01") return failedPreconditionError(std::move(message));
  return internalError(std::move(message));
}

Status statusForException(const std::exception& e, std::string_view what) {
  std::string message = "postgres: " + std::string(what) + ": " + e.what();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return statusForSqlState(sql->sqlstate(), message);
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return unavailableError(message);
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return unavailableError(message);
  return internalError(message);
}

std::string textArrayLiteral(const std::vector<std::string>& values) {
  size_t bytes = 2;
  for (const auto& value : values) bytes += value.size() + 3;
  std::string out;
  out.reserve(bytes);  // an artifact's whole text goes through here: one block, runs copied whole
  out.push_back('{');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    // The next '"' and the next '\\' each found by memchr (find_first_of would test every
    // character against the set), each looked for again only once passed.
    std::string_view text = values[i];
    size_t from = 0;
    size_t quote = text.find('"');
    size_t backslash = text.find('\\');
    for (size_t special = std::min(quote, backslash); special != std::string_view::npos;
         special = std::min(quote, backslash)) {
      out.append(text.substr(from, special - from)).push_back('\\');
      out.push_back(text[special]);
      from = special + 1;
      if (special == quote) {
        quote = text.find('"', from);
      } else {
        backslash = text.find('\\', from);
      }
    }
    out.append(text.substr(from)).push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string bigintArrayLiteral(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "}";
}

namespace {

std::string floatList(const std::vector<float>& values, char open, char close) {
  std::string out(1, open);
  char buffer[32];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, values[i]);
    out.append(buffer, error == std::errc() ? end : buffer);
  }
  out += close;
  return out;
}

}  // namespace

std::string vectorLiteral(const std::vector<float>& values) { return floatList(values, '[', ']'); }
std::string realArrayLiteral(const std::vector<float>& values) { return floatList(values, '{', '}'); }

std::vector<float> parseFloatList(std::string_view text) {
  std::vector<float> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == '[' || text[i] == '{' || text[i] == ',' || text[i] == ' ' || text[i] == ']' || text[i] == '}')) ++i;
    if (i >= text.size()) break;
    size_t end = text.find_first_of(",]} ", i);
    if (end == std::string_view::npos) end = text.size();
    std::string number(text.substr(i, end - i));
    out.push_back(std::strtof(number.c_str(), nullptr));
    i = end;
  }
  return out;
}

std::string tsQueryText(std::string_view text) {
  std::string query;
  for (const auto& word : common::searchWords(text)) query += (query.empty() ? "" : " | ") + word;
  return query;
}

}  // namespace mx::pg
