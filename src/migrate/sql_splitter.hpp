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
  int line = 0;      // 1-based line of its first character in the section
};

// Splits on ';' outside quotes ('...', "..."), dollar quotes ($$...$$,
// $tag$...$tag$), -- comments and /* */ comments. Statements holding only
// comments and blanks are dropped.
std::vector<SqlStatement> SplitSqlStatements(std::string_view sql, int first_line = 1);

}  // namespace credvault::migrate
