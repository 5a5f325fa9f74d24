#include "db/connection_target.hpp"

#include "db/database_url.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace credvault::db {
namespace {

using OptionsPtr = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// The value of `keyword` in `options`, "" when absent or empty.
std::string ValueOf(const PQconninfoOption* options, const char* keyword) {
  for (const PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, keyword) == 0) return o->val != nullptr ? o->val : "";
  }
  return "";
}

// A dbname that is itself a connection string, as libpq recognizes one: it
// expands it where asked (PQconnectdbParams), and otherwise sends it to the
// server as the database name. Either way it may hold a password.
bool IsConninfoDbname(const std::string& dbname) {
  return dbname.find('=') != std::string::npos || dbname.rfind("postgresql://", 0) == 0 ||
         dbname.rfind("postgres://", 0) == 0;
}

// Such a dbname is shown redacted like the rest of the URL, in quotes.
std::string ShownDbname(const std::string& dbname) {
  return IsConninfoDbname(dbname) ? "'" + RedactDatabaseUrl(dbname) + "'" : dbname;
}

}  // namespace

StatusOr<ConnectionTarget> ResolveConnectionTarget(const std::string& conninfo) {
  std::vector<ConninfoOption> given;
  if (!conninfo.empty()) {
    auto parsed = ParseConninfo(conninfo);
    if (!parsed) return InvalidArgumentError("libpq cannot parse the connection string");
    given = std::move(*parsed);
  }
  auto given_value = [&](const char* keyword) {
    for (const ConninfoOption& option : given) {
      if (option.keyword == keyword) return option.value;
    }
    return std::string();
  };
  // The environment and built-in defaults, exactly as libpq applies them to
  // whatever the string leaves out.
  OptionsPtr defaults(PQconndefaults(), &PQconninfoFree);
  auto resolve = [&](const char* keyword) {
    std::string value = given_value(keyword);
    return value.empty() ? ValueOf(defaults.get(), keyword) : value;
  };
  ConnectionTarget target;
  target.host = resolve("host");
  if (target.host.empty()) target.host = resolve("hostaddr");
  target.port = resolve("port");
  target.user = resolve("user");
  target.dbname = ShownDbname(resolve("dbname"));
  if (target.dbname.empty()) target.dbname = target.user;
  target.service = given_value("service");
  return target;
}

std::string DescribeTarget(const std::string& conninfo) {
  auto target = ResolveConnectionTarget(conninfo);
  if (!target.ok()) return "(a connection string libpq cannot parse)";
  std::string out = target->service.empty() ? "" : "service=" + target->service + " ";
  out += "host=" + (target->host.empty() ? std::string("(default Unix socket)") : target->host);
  out += " port=" + target->port + " dbname=" + target->dbname + " user=" + target->user;
  return out;
}

std::string DescribeConnection(const std::string& conninfo) {
  if (conninfo.empty()) return DescribeTarget(conninfo) + " (from the PG* variables and libpq's defaults)";
  return RedactDatabaseUrl(conninfo) + " (" + DescribeTarget(conninfo) + ")";
}

}  // namespace credvault::db

namespace credvault::db {

std::string WithoutConninfoDbname(std::string message, const std::string& conninfo) {
  auto options = ParseConninfo(conninfo);
  if (!options) return message;
  for (const ConninfoOption& option : *options) {
    if (option.keyword != "dbname" || !IsConninfoDbname(option.value)) continue;
    const std::string& name = option.value;
    const std::string shown = "'" + RedactDatabaseUrl(name) + "'";
    const std::size_t least = std::min<std::size_t>(name.size(), 16);
    for (std::size_t pos = 0; pos < message.size();) {
      std::size_t n = 0;
      while (pos + n < message.size() && n < name.size() && message[pos + n] == name[n]) ++n;
      if (n >= least) {
        message.replace(pos, n, shown);
        pos += shown.size();
      } else {
        ++pos;
      }
    }
  }
  return message;
}

}  // namespace credvault::db
