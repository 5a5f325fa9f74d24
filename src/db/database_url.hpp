// DATABASE_URL handling: libpq URLs, SQLAlchemy URLs and libpq key=value
// strings. Everything is parsed by libpq itself (PQconninfoParse), so every
// form libpq accepts is understood the way libpq will use it, and every
// parameter that carries a secret is found wherever it was written.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/status.hpp"

namespace credvault::db {

// One parameter libpq found in a connection string.
struct ConninfoOption {
  std::string keyword;
  std::string value;
  bool secret = false;  // password, sslpassword: never shown
};

// libpq's parse of a conninfo (PQconninfoParse): the parameters given, in
// libpq's keyword order; nullopt when libpq cannot parse it. libpq's own
// message is dropped: it can quote the text (a mistyped %-escape in a
// password, say).
std::optional<std::vector<ConninfoOption>> ParseConninfo(const std::string& conninfo);

// Turns what a user may put in DATABASE_URL into a libpq conninfo:
//  - "postgresql://..." and "postgres://..." pass through unchanged;
//  - SQLAlchemy forms "postgresql+asyncpg://...", "postgresql+psycopg2://..."
//    (any "+driver") lose the driver part, and asyncpg's `ssl=<mode>` query
//    parameter becomes libpq's `sslmode=<mode>`;
//  - a libpq key=value string ("host=... dbname=...") passes through;
//  - "" stays "" (libpq then uses the PG* environment variables).
// Anything libpq cannot parse, or another scheme, is kInvalidArgument. The
// message never repeats the text (it may hold a password).
StatusOr<std::string> NormalizeDatabaseUrl(std::string_view url);

// The connection string for messages and logs: the same form as given (URL or
// key=value), rebuilt from libpq's parse with the value of every parameter
// that carries a secret (password, sslpassword) shown as "***". Text libpq
// cannot parse is shown as "(unparsable connection string)".
std::string RedactDatabaseUrl(std::string_view url);

// `conninfo` (as NormalizeDatabaseUrl returns it) as a key=value string with
// application_name set to `application_name`: the name travels in the startup
// packet, so no session-level SET is needed (a connection pooler would hand
// such a SET on to the next client of the same server connection).
StatusOr<std::string> WithApplicationName(const std::string& conninfo, const std::string& application_name);

// `conninfo` as a key=value string that reaches database `dbname` on the same
// server, as the same user with the same settings (create --autogenerate's
// temporary scratch database).
StatusOr<std::string> WithDatabaseName(const std::string& conninfo, const std::string& dbname);

}  // namespace credvault::db
