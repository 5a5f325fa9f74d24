#include "db/database_url.hpp"

#include <cctype>

namespace credvault::db {
namespace {

bool LooksLikeKeywordValue(std::string_view text) {
  // libpq key=value form: starts with an identifier followed by '='.
  std::size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
  while (i < text.size() && text[i] == ' ') ++i;
  return i > 0 && i < text.size() && text[i] == '=';
}

}  // namespace

StatusOr<std::string> NormalizeDatabaseUrl(std::string_view url) {
  // Trim surrounding blanks: .env files are often written with them.
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front()))) url.remove_prefix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  if (url.empty()) return std::string();
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgumentError("database URL contains a control character");
    }
  }

  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    if (LooksLikeKeywordValue(url)) return std::string(url);
    return InvalidArgumentError(
        "database URL is neither a postgresql:// URL nor a libpq key=value string");
  }
  std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view base = scheme.substr(0, scheme.find('+'));
  if (base != "postgresql" && base != "postgres") {
    // The scheme is not repeated: a mangled URL can carry its password there.
    return InvalidArgumentError("database URL scheme must be postgresql:// or postgresql+<driver>:// (SQLAlchemy)");
  }
  if (scheme.find('+') != std::string_view::npos) {
    std::string_view driver = scheme.substr(scheme.find('+') + 1);
    if (driver.empty()) return InvalidArgumentError("database URL has an empty driver after '+'");
    for (char c : driver) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        return InvalidArgumentError("database URL has an invalid driver name");
      }
    }
  }
  return "postgresql://" + std::string(rest);
}

std::string RedactDatabaseUrl(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // Neither a URL nor key=value: nothing can be shown safely.
    if (!LooksLikeKeywordValue(url)) return "***";
    // key=value form: keep only well-formed "keyword=value" tokens whose
    // keyword is not password; anything unusual is hidden.
    std::string out;
    std::size_t pos = 0;
    while (pos < url.size()) {
      if (url[pos] == ' ') {
        out += ' ';
        ++pos;
        continue;
      }
      std::size_t end = url.find(' ', pos);
      if (end == std::string_view::npos) end = url.size();
      std::string_view token = url.substr(pos, end - pos);
      std::size_t eq = token.find('=');
      bool keyword_ok = eq != std::string_view::npos && eq > 0;
      for (std::size_t i = 0; keyword_ok && i < eq; ++i) {
        keyword_ok = std::islower(static_cast<unsigned char>(token[i])) || token[i] == '_';
      }
      if (!keyword_ok) {
        out += "***";
      } else if (token.substr(0, eq) == "password") {
        out += "password=***";
      } else {
        out.append(token);
      }
      pos = end;
    }
    return out;
  }
  std::string out(url);
  auto authority_start = scheme_end + 3;
  auto authority_end = out.find_first_of("/?#", authority_start);
  if (authority_end == std::string::npos) authority_end = out.size();
  auto at = out.rfind('@', authority_end);
  if (at == std::string::npos || at < authority_start) return out;
  auto colon = out.find(':', authority_start);
  if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  return out;
}

}  // namespace credvault::db
