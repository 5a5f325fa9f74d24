#include "migrate/sql_splitter.hpp"

#include "migrate/sql_parser.hpp"

namespace credvault::migrate {

std::vector<SqlStatement> SplitSqlStatements(std::string_view sql, int first_line) {
  std::vector<SqlStatement> out;
  for (const StatementRange& range : SplitSqlRanges(sql)) {
    out.push_back({std::string(sql.substr(static_cast<std::size_t>(range.location), static_cast<std::size_t>(range.length))),
                   StatementLine(sql, range.location, range.length, first_line)});
  }
  return out;
}

}  // namespace credvault::migrate
