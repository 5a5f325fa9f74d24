#include "migrate/sql_splitter.hpp"

#include "migrate/sql_parser.hpp"

namespace credvault::migrate {

std::vector<SqlStatement> SplitSqlStatements(std::string_view sql, int first_line) {
  std::vector<SqlStatement> out;
  const std::vector<StatementRange> ranges = SplitSqlRanges(sql);
  if (ranges.empty()) return out;
  // One scan of the whole text: the first code token of each statement
  // gives its line (leading blanks and comments do not count).
  auto tokens = ScanSql(sql);
  std::size_t next = 0, counted_to = 0;
  int line = first_line;
  for (const StatementRange& range : ranges) {
    std::size_t first_code = static_cast<std::size_t>(range.location);
    if (tokens.ok()) {
      while (next < tokens->size() && ((*tokens)[next].start < range.location || (*tokens)[next].comment)) ++next;
      if (next < tokens->size() && (*tokens)[next].start < range.location + range.length) {
        first_code = static_cast<std::size_t>((*tokens)[next].start);
      }
    }
    line = LineAt(sql.substr(counted_to, first_code - counted_to), first_code - counted_to, line);  // ranges only grow
    counted_to = first_code;
    out.push_back({std::string(sql.substr(static_cast<std::size_t>(range.location), static_cast<std::size_t>(range.length))),
                   line});
  }
  return out;
}

}  // namespace credvault::migrate
