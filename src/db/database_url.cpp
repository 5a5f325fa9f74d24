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
    return InvalidArgumentError("database URL scheme must be postgresql:// or postgresql+<driver>:// (SQLAlchemy); got '" +
                                std::string(base) + "'");
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
    // key=value form: hide password=...
    std::string out(url);
    auto pos = out.find("password");
    while (pos != std::string::npos) {
      auto eq = out.find('=', pos);
      if (eq == std::string::npos) break;
      auto value_start = eq + 1;
      while (value_start < out.size() && out[value_start] == ' ') ++value_start;
      auto value_end = out.find(' ', value_start);
      if (value_end == std::string::npos) value_end = out.size();
      out.replace(value_start, value_end - value_start, "***");
      pos = out.find("password", value_start + 3);
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
