#include "migrate/sql_splitter.hpp"

#include <cctype>

namespace credvault::migrate {
namespace {

// True when `text` has something other than blanks and comments.
bool HasCode(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (text.substr(i, 2) == "--") {
      auto end = text.find('\n', i);
      i = end == std::string_view::npos ? text.size() : end;
    } else if (text.substr(i, 2) == "/*") {
      auto end = text.find("*/", i + 2);
      i = end == std::string_view::npos ? text.size() : end + 2;
    } else {
      return true;
    }
  }
  return false;
}

// If a dollar-quote tag ($$ or $name$) starts at i, its length, else 0.
std::size_t DollarTagLength(std::string_view sql, std::size_t i) {
  if (sql[i] != '$') return 0;
  std::size_t j = i + 1;
  while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) ++j;
  if (j < sql.size() && sql[j] == '$' && (j == i + 1 || !std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
    return j - i + 1;
  }
  return 0;
}

}  // namespace

std::vector<SqlStatement> SplitSqlStatements(std::string_view sql, int first_line) {
  std::vector<SqlStatement> out;
  std::size_t start = 0;
  int line = first_line, start_line = first_line;
  auto emit = [&](std::size_t end) {
    std::string_view text = sql.substr(start, end - start);
    if (HasCode(text)) {
      // Report the line of the first code character, not of leading blanks.
      int leading = 0;
      std::size_t k = 0;
      while (k < text.size() && (std::isspace(static_cast<unsigned char>(text[k])) || text.substr(k, 2) == "--")) {
        if (text.substr(k, 2) == "--") {
          auto nl = text.find('\n', k);
          if (nl == std::string_view::npos) break;
          k = nl;
        }
        if (text[k] == '\n') ++leading;
        ++k;
      }
      out.push_back({std::string(text), start_line + leading});
    }
  };
  std::size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '\'' || c == '"') {
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '\n') ++line;
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {
            j += 2;  // doubled quote inside the literal
            continue;
          }
          break;
        }
        ++j;
      }
      i = j + 1;
    } else if (sql.substr(i, 2) == "--") {
      auto end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end;
    } else if (sql.substr(i, 2) == "/*") {
      auto end = sql.find("*/", i + 2);
      std::size_t stop = end == std::string_view::npos ? sql.size() : end + 2;
      for (std::size_t k = i; k < stop; ++k) line += (sql[k] == '\n');
      i = stop;
    } else if (std::size_t tag_length = DollarTagLength(sql, i)) {
      std::string_view tag = sql.substr(i, tag_length);
      auto end = sql.find(tag, i + tag_length);
      std::size_t stop = end == std::string_view::npos ? sql.size() : end + tag_length;
      for (std::size_t k = i; k < stop; ++k) line += (sql[k] == '\n');
      i = stop;
    } else if (c == ';') {
      emit(i);
      start = i + 1;
      start_line = line;
      ++i;
    } else {
      ++i;
    }
  }
  emit(sql.size());
  return out;
}

}  // namespace credvault::migrate
