#include "db/database_url.hpp"

#include <libpq-fe.h>

#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <vector>

namespace credvault::db {
namespace {

bool IsUrl(std::string_view text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

// A key=value value as libpq reads it: quoted when needed, with \ and ' escaped.
std::string QuoteValue(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) plain = plain && !std::isspace(static_cast<unsigned char>(c)) && c != '\'' && c != '\\';
  if (plain) return std::string(value);
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

constexpr const char* kHidden = "***";

std::string Redact(const std::string& text, bool nested);

bool LooksLikeConninfo(const std::string& value) { return value.find('=') != std::string::npos || IsUrl(value); }

// A dbname may itself be a connection string (libpq expands one): its
// secrets are hidden too, one level deep; anything deeper is hidden whole.
std::string Shown(const ConninfoOption& option, bool nested) {
  if (option.secret) return kHidden;
  if (option.keyword == "dbname" && LooksLikeConninfo(option.value)) {
    return nested ? std::string(kHidden) : Redact(option.value, true);
  }
  return option.value;
}

std::string RenderKeywordValue(const std::vector<ConninfoOption>& options, bool nested) {
  std::string out;
  for (const ConninfoOption& option : options) {
    if (!out.empty()) out += ' ';
    out += option.keyword + "=" + (option.secret ? std::string(kHidden) : QuoteValue(Shown(option, nested)));
  }
  return out;
}

std::string RenderUrl(const std::vector<ConninfoOption>& options, bool nested) {
  const ConninfoOption* user = nullptr;
  const ConninfoOption* password = nullptr;
  const ConninfoOption* host = nullptr;
  const ConninfoOption* port = nullptr;
  const ConninfoOption* dbname = nullptr;
  std::vector<const ConninfoOption*> rest;
  for (const ConninfoOption& option : options) {
    if (option.keyword == "user") {
      user = &option;
    } else if (option.keyword == "password") {
      password = &option;
    } else if (option.keyword == "host") {
      host = &option;
    } else if (option.keyword == "port") {
      port = &option;
    } else if (option.keyword == "dbname") {
      dbname = &option;
    } else {
      rest.push_back(&option);
    }
  }
  std::string out = "postgresql://";
  if (user != nullptr || password != nullptr) {
    if (user != nullptr) out += PercentEncode(user->value);
    if (password != nullptr) out += std::string(":") + kHidden;
    out += '@';
  }
  // A socket directory or a host list goes into the query, where it reads
  // the way it was meant.
  const bool host_in_authority = host != nullptr && host->value.find_first_of("/,") == std::string::npos &&
                                 (port == nullptr || port->value.find(',') == std::string::npos);
  if (host_in_authority) {
    out += host->value.find(':') != std::string::npos ? "[" + host->value + "]" : PercentEncode(host->value);
    if (port != nullptr) out += ":" + PercentEncode(port->value);
  } else {
    if (port != nullptr) rest.insert(rest.begin(), port);
    if (host != nullptr) rest.insert(rest.begin(), host);
  }
  if (dbname != nullptr) out += "/" + PercentEncode(Shown(*dbname, nested));
  for (std::size_t i = 0; i < rest.size(); ++i) {
    out += (i == 0 ? "?" : "&") + rest[i]->keyword + "=" + (rest[i]->secret ? kHidden : PercentEncode(Shown(*rest[i], nested)));
  }
  return out;
}

std::string Redact(const std::string& text, bool nested) {
  auto parsed = ParseConninfo(text);
  if (!parsed) return "(unparsable connection string)";
  return IsUrl(text) ? RenderUrl(*parsed, nested) : RenderKeywordValue(*parsed, nested);
}

// asyncpg's URL spells libpq's sslmode as `ssl`.
std::string TranslateAsyncpgSsl(const std::string& url) {
  static constexpr std::array<std::string_view, 6> kModes = {"disable", "allow", "prefer", "require", "verify-ca",
                                                             "verify-full"};
  const auto query = url.find('?');
  if (query == std::string::npos) return url;
  std::string out = url.substr(0, query + 1);
  std::string_view params(url);
  params.remove_prefix(query + 1);
  bool first = true;
  while (!params.empty()) {
    const auto end = params.find('&');
    std::string_view param = params.substr(0, end);
    params.remove_prefix(end == std::string_view::npos ? params.size() : end + 1);
    if (param.rfind("ssl=", 0) == 0) {
      for (std::string_view mode : kModes) {
        if (param.substr(4) == mode) {
          param = {};
          out += std::string(first ? "" : "&") + "sslmode=" + std::string(mode);
          first = false;
          break;
        }
      }
      if (param.empty()) continue;
    }
    out += std::string(first ? "" : "&") + std::string(param);
    first = false;
  }
  return out;
}

}  // namespace

std::optional<std::vector<ConninfoOption>> ParseConninfo(const std::string& conninfo) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(conninfo.c_str(), &error),
                                                                      &PQconninfoFree);
  if (error != nullptr) PQfreemem(error);
  if (!options) return std::nullopt;
  std::vector<ConninfoOption> given;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string keyword = o->keyword;
    // dispchar "*" is libpq's own mark for a password-like parameter; the
    // two known ones are named as well, in case a libpq build marks neither.
    const bool secret = (o->dispchar != nullptr && std::string_view(o->dispchar).find('*') != std::string_view::npos) ||
                        keyword == "password" || keyword == "sslpassword";
    given.push_back({keyword, o->val, secret});
  }
  return given;
}

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

  std::string conninfo(url);
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string_view scheme = url.substr(0, scheme_end);
    const std::string_view base = scheme.substr(0, scheme.find('+'));
    if (base != "postgresql" && base != "postgres") {
      // The scheme is not repeated: a mangled URL can carry its password there.
      return InvalidArgumentError("database URL scheme must be postgresql:// or postgresql+<driver>:// (SQLAlchemy)");
    }
    if (scheme.find('+') != std::string_view::npos) {
      const std::string_view driver = scheme.substr(scheme.find('+') + 1);
      if (driver.empty()) return InvalidArgumentError("database URL has an empty driver after '+'");
      for (char c : driver) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
          return InvalidArgumentError("database URL has an invalid driver name");
        }
      }
      conninfo = TranslateAsyncpgSsl("postgresql://" + std::string(url.substr(scheme_end + 3)));
    } else {
      conninfo = "postgresql://" + std::string(url.substr(scheme_end + 3));
    }
  }
  if (!ParseConninfo(conninfo)) {
    return InvalidArgumentError(
        scheme_end != std::string_view::npos
            ? "database URL is not one libpq accepts (check its query parameters and %-escapes; the URL is not "
              "repeated because it may hold a password)"
            : "database URL is neither a postgresql:// URL nor a libpq key=value string libpq accepts (the text is "
              "not repeated because it may hold a password)");
  }
  return conninfo;
}

std::string RedactDatabaseUrl(std::string_view url) { return Redact(std::string(url), false); }

namespace {

// `conninfo` with `keyword` set to `value` (replacing any value it had).
StatusOr<std::string> WithOption(const std::string& conninfo, const std::string& keyword, const std::string& value) {
  auto parsed = ParseConninfo(conninfo);
  if (!parsed) return InvalidArgumentError("the connection string is not one libpq accepts");
  std::string out;
  for (const ConninfoOption& option : *parsed) {
    if (option.keyword == keyword) continue;
    out += option.keyword + "=" + QuoteValue(option.value) + " ";
  }
  return out + keyword + "=" + QuoteValue(value);
}

}  // namespace

StatusOr<std::string> WithApplicationName(const std::string& conninfo, const std::string& application_name) {
  return WithOption(conninfo, "application_name", application_name);
}

StatusOr<std::string> WithDatabaseName(const std::string& conninfo, const std::string& dbname) {
  return WithOption(conninfo, "dbname", dbname);
}

}  // namespace credvault::db
