// The migration linter: changes that lose data, fail on the data there is,
// or lock a busy table for long. Run by `credvault lint`, by `create` on the
// file it writes, and by `migrate` on what it is about to apply (warnings;
// `migrate --strict` refuses).
//
// Findings, each with file:line, what, why and the safe alternative:
//   destructive      DROP TABLE, DROP COLUMN or a narrowing ALTER COLUMN TYPE
//                    in an up section, in a file without a line
//                    `-- credvault:allow-destructive`
//   narrowing        a column narrowed below the longest value it holds now,
//                    or an encrypted credentials column below the ciphertext
//                    length of its longest plaintext (names the column, the
//                    row count and the longest value's length)
//   not_null         SET NOT NULL, or ADD COLUMN ... NOT NULL without a
//                    default, on a table that has rows
//   blocking_index   CREATE INDEX without CONCURRENTLY on an existing table
//                    of more than `large_table_rows` rows
//   no_down          no down section, or an empty one
// The checks that need data (narrowing, not_null, blocking_index and
// narrowing for `destructive`) read the live database when one is given,
// with read-only queries; tables that do not exist yet have no data.
#pragma once

#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/migration_file.hpp"

namespace credvault::migrate {

struct LintFinding {
  std::string path;
  int line = 0;
  std::string rule;         // "destructive", "narrowing", "not_null", "blocking_index", "no_down"
  std::string what;
  std::string why;
  std::string alternative;
  // "<path>:<line>: <rule>: <what>: <why>. Instead: <alternative>"
  std::string Format() const;
};

struct LintOptions {
  long long large_table_rows = 100000;
};

inline constexpr const char* kAllowDestructive = "-- credvault:allow-destructive";

// `conn` may be nullptr: then only what the text alone shows is checked.
// Errors only from the database.
StatusOr<std::vector<LintFinding>> LintMigration(const Migration& migration, db::Connection* conn,
                                                 const LintOptions& options);

}  // namespace credvault::migrate
