// The objects of one PostgreSQL schema, read from pg_catalog: what
// `create --autogenerate` diffs and `check --schema` compares.
//
// Every name is as quote_ident() gives it (quoted only where PostgreSQL needs
// it), and every definition is PostgreSQL's own text for it (format_type,
// pg_get_expr, pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef,
// pg_get_functiondef, pg_get_triggerdef) read with the search_path set to
// that schema alone, so that two schemas holding the same objects read the
// same. credvault's own tables and alembic_version are left out.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::migrate {

struct CatalogColumn {
  std::string name;
  std::string type;            // format_type: "character varying(512)", "integer", "mood[]"
  bool not_null = false;
  std::string default_expr;    // "" = none; for a serial column, the nextval() default
  std::string identity;        // "" | "a" (ALWAYS) | "d" (BY DEFAULT)
  std::string generated;       // "" | "s" (STORED: default_expr is the expression)
  std::string owned_sequence;  // serial: the sequence the column owns, else ""
  std::string comment;
  bool serial() const { return !owned_sequence.empty(); }
};

struct CatalogTable {
  std::string name;
  std::vector<CatalogColumn> columns;  // in column order
  std::string comment;
  const CatalogColumn* Find(const std::string& column) const;
};

struct CatalogConstraint {
  std::string table, name;
  char type = '?';                // p primary key, u unique, c check, f foreign key, x exclusion
  std::string definition;         // pg_get_constraintdef
  std::string referenced_table;   // f: the table it references
};

struct CatalogIndex {
  std::string table, name, definition;  // pg_get_indexdef, schema removed
};

struct CatalogSequence {
  std::string name, definition;  // "AS bigint INCREMENT BY 1 MINVALUE 1 ..."
  std::string comment;
};

struct CatalogEnum {
  std::string name;
  std::vector<std::string> labels;  // in sort order
  std::string comment;
};

struct CatalogView {
  std::string name;
  bool materialized = false;
  std::string definition;          // pg_get_viewdef
  std::set<std::string> relations; // tables and views it reads, in the same schema
  long long order = 0;             // creation order (oid)
  std::string comment;
};

struct CatalogFunction {
  std::string signature;  // name(identity arguments)
  bool procedure = false;
  std::string definition; // pg_get_functiondef, schema removed
  std::string result;     // pg_get_function_result
  std::string comment;
};

struct CatalogTrigger {
  std::string table, name, definition;  // pg_get_triggerdef, schema removed
};

struct Catalog {
  std::map<std::string, CatalogTable> tables;
  std::map<std::string, CatalogConstraint> constraints;  // key "table.name"
  std::map<std::string, CatalogIndex> indexes;           // not backing a constraint; key: name
  std::map<std::string, CatalogSequence> sequences;      // not owned by a column
  std::map<std::string, CatalogEnum> enums;
  std::map<std::string, CatalogView> views;
  std::map<std::string, CatalogFunction> functions;      // key: signature
  std::map<std::string, CatalogTrigger> triggers;        // key "table.name"
};

// Reads schema `schema` inside `tx`. Sets the transaction's search_path to
// that schema (SET LOCAL: the caller's transaction decides how long).
StatusOr<Catalog> ReadCatalog(db::Transaction& tx, const std::string& schema);

// The catalog as "object" → "property" → value, for comparing two schemas
// line by line (sequence names of serial columns do not take part).
using CatalogSnapshot = std::map<std::string, std::map<std::string, std::string>>;
CatalogSnapshot Flatten(const Catalog& catalog);

// One line per difference between `expected` and `found`, named by object:
// "column accounts.email: missing", "index i: definition ... expected, ... found".
std::vector<std::string> CompareCatalogs(const Catalog& expected, const Catalog& found);

}  // namespace credvault::migrate
