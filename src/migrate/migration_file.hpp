// One migration file: migrations/YYYYMMDD_NNNN_<slug>.sql with dbmate-style
// sections.
//
//   -- migrate:up [transaction:false]
//   CREATE TABLE ...;
//   -- migrate:down
//   DROP TABLE ...;
//
// A section may instead hold one line `-- migrate:step <name>`: a native data
// step (e.g. encrypt) that credvault runs itself, in batches.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/status.hpp"
#include "migrate/sql_splitter.hpp"

namespace credvault::migrate {

struct Section {
  bool present = false;
  bool transactional = true;        // false with `transaction:false`
  std::optional<std::string> step;  // a native step instead of SQL
  std::string sql;
  int first_line = 0;               // line of the first SQL line
  std::vector<SqlStatement> Statements() const { return SplitSqlStatements(sql, first_line); }
  // Runs in one transaction with its history row (not a step, not transaction:false).
  bool RunsInTransaction() const { return transactional && !step; }
};

struct Migration {
  std::string revision;   // "20260215_0001"
  std::string slug;       // "initial_schema"
  std::string file_name;  // "20260215_0001_initial_schema.sql"
  std::string path;
  std::string checksum;   // hex SHA-256 of the content with CRLF read as LF
  Section up;
  Section down;
  // The file has a line `-- credvault:allow-destructive` (see lint.hpp).
  bool allow_destructive = false;
  std::string Description() const;  // the slug with spaces
};

// True for names of the form YYYYMMDD_NNNN_<slug>.sql (slug: [a-z0-9_]+).
bool IsMigrationFileName(std::string_view file_name);

// Parses a file's content. Errors are kInvalidArgument "<path>:<line>: ...":
// bad name, non-UTF-8, SQL before the first section, no up section, a
// section given twice, an unknown option, a step next to SQL, or
// CREATE/DROP INDEX CONCURRENTLY (or REINDEX CONCURRENTLY) in a
// transactional section.
StatusOr<Migration> ParseMigration(const std::string& path, std::string_view content);
StatusOr<Migration> ReadMigrationFile(const std::string& path);

// SHA-256 (hex) of `content` with every CRLF read as LF.
std::string MigrationChecksum(std::string_view content);

}  // namespace credvault::migrate
