// Splits a migration section into statements, so that each runs (and fails)
// on its own: errors name the statement, and transaction:false migrations
// run statement by statement.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace credvault::migrate {

struct SqlStatement {
  std::string text;  // without the terminating ';'
  int line = 0;      // 1-based line of its first code character in the section
};

// Splits as PostgreSQL's own parser does (libpg_query: quotes, dollar
// quotes, nested comments, BEGIN ATOMIC bodies); text that does not parse is
// split by PostgreSQL's scanner instead. Statements holding only comments
// and blanks are dropped. Line numbers count from `first_line`.
std::vector<SqlStatement> SplitSqlStatements(std::string_view sql, int first_line = 1);

}  // namespace credvault::migrate
