// PostgreSQL's own parser (libpg_query, the parser of PostgreSQL 15) for
// migration and schema text. The only file that includes <pg_query.h>.
//
// Everything here is pure: no database, no I/O. Inputs of any size and any
// bytes are safe (the fuzz target feeds them); errors are Status values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "credvault/status.hpp"

namespace credvault::migrate {

// One lexical token: text() is sql.substr(start, end - start).
struct SqlToken {
  int start = 0;
  int end = 0;
  int token = 0;         // libpg_query's Token enum value
  bool keyword = false;  // a (reserved or unreserved) keyword, never a quoted identifier
  bool comment = false;  // -- or /* */ comment
};

// The tokens of `sql`, comments included. kInvalidArgument when the text
// does not even lex (an unterminated quote or comment).
StatusOr<std::vector<SqlToken>> ScanSql(std::string_view sql);

// One parsed statement: its libpg_query JSON node ({"IndexStmt": {...}})
// and where it is in the text given to ParseSql.
struct ParsedStatement {
  nlohmann::json node;
  int location = 0;  // byte offset of the statement (leading comments included)
  int length = 0;    // bytes, without the terminating ';'
};

// Parses every statement of `sql`. kInvalidArgument "line L: <PostgreSQL's
// message>" on a syntax error (L counts from `first_line`).
StatusOr<std::vector<ParsedStatement>> ParseSql(std::string_view sql, int first_line = 1);

// Byte ranges of the statements of `sql` as PostgreSQL's parser splits them
// (it knows BEGIN ATOMIC bodies, dollar quotes, nested comments). When the
// text does not parse, the scanner splits it instead (so a bad statement is
// still reported by the server, with its own line). Ranges holding only
// comments are dropped.
struct StatementRange {
  int location = 0;
  int length = 0;
};
std::vector<StatementRange> SplitSqlRanges(std::string_view sql);

// True for a statement PostgreSQL refuses inside a transaction block:
// CREATE/DROP INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY, ALTER TABLE ...
// DETACH PARTITION ... CONCURRENTLY.
bool IsConcurrentStatement(const nlohmann::json& node);

// The statement's type name ("IndexStmt", "AlterTableStmt", ...), "" if none.
std::string StatementKind(const nlohmann::json& node);

// `statement` (one statement) with its CONCURRENTLY keyword removed, for a
// throwaway replay inside a transaction; REINDEX statements come back empty
// (they change no schema). Statements that are not concurrent come back as
// they are.
std::string WithoutConcurrently(const std::string& statement);

// Line of the first code character (not blank, not comment) of the
// statement at [location, location + length) of `sql`.
int StatementLine(std::string_view sql, int location, int length, int first_line = 1);

// 1-based line of byte `offset` in `text` counting from `first_line`.
int LineAt(std::string_view text, std::size_t offset, int first_line = 1);

}  // namespace credvault::migrate
