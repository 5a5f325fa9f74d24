// DATABASE_URL handling: libpq URLs, SQLAlchemy URLs and libpq key=value strings.
#pragma once

#include <string>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::db {

// Turns what a user may put in DATABASE_URL into a libpq conninfo:
//  - "postgresql://..." and "postgres://..." pass through unchanged;
//  - SQLAlchemy forms "postgresql+asyncpg://...", "postgresql+psycopg2://..."
//    (any "+driver") lose the driver part;
//  - a libpq key=value string ("host=... dbname=...") passes through;
//  - "" stays "" (libpq then uses the PG* environment variables).
// Anything else (another scheme, a URL with no host part or garbage) is
// kInvalidArgument. The message never repeats the URL (it may hold a password).
StatusOr<std::string> NormalizeDatabaseUrl(std::string_view url);

// The URL with any password replaced by "***", for messages and logs.
std::string RedactDatabaseUrl(std::string_view url);

}  // namespace credvault::db
