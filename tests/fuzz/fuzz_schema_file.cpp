// Arbitrary bytes as a schema file (schema.sql): the checks made before it
// is applied, PostgreSQL's parser and scanner through libpg_query, the
// statement splitter and the CONCURRENTLY rewrite used in scratch schemas.
// Errors must name the file; statements must lie inside the text. (The
// scanner and the parse tree are exercised through these: the checks parse,
// the splitter scans.)
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "migrate/schema_file.hpp"
#include "migrate/sql_parser.hpp"
#include "migrate/sql_splitter.hpp"

using namespace credvault::migrate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto status = ValidateSchemaFile("schema.sql", sql);
  if (!status.ok() && status.message().rfind("schema.sql:", 0) != 0) std::abort();

  int lines = 1;
  for (char c : sql) lines += c == '\n';
  for (const SqlStatement& statement : SplitSqlStatements(sql)) {
    if (statement.text.empty() || statement.text.size() > sql.size()) std::abort();
    if (statement.line < 1 || statement.line > lines) std::abort();
    if (WithoutConcurrently(statement.text).size() > statement.text.size()) std::abort();
  }
  return 0;
}
