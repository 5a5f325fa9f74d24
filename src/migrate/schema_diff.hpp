// The DDL that turns one catalog into another (create --autogenerate).
//
// Statements come in dependency order: first what goes away (triggers,
// views, foreign keys, constraints and indexes, tables, columns), then what
// comes (enums, sequences, tables without their constraints, columns,
// functions, constraints, indexes, foreign keys, views, triggers, comments),
// and last the types, sequences and functions nothing uses any more. Foreign
// keys are dropped before any table and added after every table, so cycles
// between tables cost nothing. A view over a table whose columns change is
// dropped and created again.
#pragma once

#include <string>
#include <vector>

#include "migrate/schema_catalog.hpp"

namespace credvault::migrate {

struct DiffOptions {
  // New indexes on tables that exist already go to `concurrent`, as
  // CREATE INDEX CONCURRENTLY (a migration of their own, transaction:false).
  bool concurrent_indexes = false;
};

struct SchemaDiff {
  std::vector<std::string> statements;  // each ends with ";"
  std::vector<std::string> concurrent;  // CREATE INDEX CONCURRENTLY ..., one statement each
  std::vector<std::string> concurrent_down;  // DROP INDEX CONCURRENTLY ... for `concurrent`, in reverse
  std::vector<std::string> concurrent_names;  // the index names of `concurrent`
  std::vector<std::string> warnings;    // for a reviewer: "-- " comments at the top of the section
  bool destructive = false;             // drops a table or a column, or changes a column's type
  bool empty() const { return statements.empty() && concurrent.empty(); }
};

SchemaDiff DiffCatalogs(const Catalog& from, const Catalog& to, const DiffOptions& options = {});

// 'text' as an SQL string literal (standard_conforming_strings on).
std::string QuoteLiteral(const std::string& text);

}  // namespace credvault::migrate
