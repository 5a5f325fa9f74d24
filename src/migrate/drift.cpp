#include "migrate/drift.hpp"

#include "migrate/sql_parser.hpp"

#include <map>
#include <random>

#include "common/status_macros.hpp"

namespace credvault::migrate {
namespace {

// Every schema object as "object" → "property" → value, with the schema name
// stripped from expressions so the two schemas compare equal.
using Snapshot = std::map<std::string, std::map<std::string, std::string>>;

constexpr const char* kSkipTables =
    "c.relname NOT IN ('credvault_schema_history', 'credvault_events', 'credvault_settings', 'credvault_keys', 'alembic_version')";

std::string Columns() {
  return std::string(
             "SELECT c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod), "
             "CASE WHEN a.attnotnull THEN 'not null' ELSE 'nullable' END, "
             "coalesce(pg_get_expr(d.adbin, d.adrelid), '') "
             "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace "
             "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
             "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ") +
         kSkipTables;
}

std::string Constraints() {
  return std::string(
             "SELECT c.relname || '.' || k.conname, pg_get_constraintdef(k.oid) "
             "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND ") +
         kSkipTables;
}

std::string Indexes() {
  return std::string(
             "SELECT c.relname || '.' || i.relname, pg_get_indexdef(i.oid) "
             "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND ") +
         kSkipTables;
}

std::string Triggers() {
  return std::string(
             "SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid) "
             "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal AND ") +
         kSkipTables;
}

std::string StripSchema(std::string text, const std::string& schema) {
  for (const std::string& prefix : {"\"" + schema + "\".", schema + "."}) {
    for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos)) {
      text.erase(pos, prefix.size());
    }
  }
  return text;
}

StatusOr<Snapshot> Introspect(db::Transaction& tx, const std::string& schema) {
  Snapshot snapshot;
  CV_ASSIGN_OR_RETURN(db::Rows columns, tx.Query(Columns(), {schema}));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    auto& object = snapshot[columns.text(i, 0)];
    object["type"] = columns.text(i, 1);
    object["nullability"] = columns.text(i, 2);
    object["default"] = StripSchema(columns.text(i, 3), schema);
    if (object["default"].empty()) object["default"] = "none";
  }
  struct Kind {
    std::string sql;
    const char* label;
  };
  for (const Kind& kind : {Kind{Constraints(), "constraint"}, Kind{Indexes(), "index"}, Kind{Triggers(), "trigger"}}) {
    CV_ASSIGN_OR_RETURN(db::Rows rows, tx.Query(kind.sql, {schema}));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      snapshot[std::string(kind.label) + " " + rows.text(i, 0)]["definition"] = StripSchema(rows.text(i, 1), schema);
    }
  }
  return snapshot;
}

std::vector<std::string> Compare(const Snapshot& expected, const Snapshot& found) {
  std::vector<std::string> out;
  for (const auto& [object, properties] : expected) {
    auto it = found.find(object);
    if (it == found.end()) {
      out.push_back(object + ": missing (the migrations create it)");
      continue;
    }
    for (const auto& [property, value] : properties) {
      auto other = it->second.find(property);
      std::string actual = other == it->second.end() ? "none" : other->second;
      if (actual != value) out.push_back(object + ": " + property + " " + value + " expected, " + actual + " found");
    }
  }
  for (const auto& [object, properties] : found) {
    if (expected.count(object) == 0) out.push_back(object + ": not created by any migration");
  }
  return out;
}

std::string ScratchSchemaName() {
  std::random_device random;
  return "credvault_drift_" + std::to_string(random()) + std::to_string(random());
}

}  // namespace

StatusOr<std::vector<std::string>> DetectDrift(db::Connection& conn, const MigrationSet& migrations,
                                               const std::string& revision) {
  std::vector<std::string> applied;
  for (const Migration& migration : migrations.all()) {
    if (revision.empty() || migration.revision > revision) break;
    applied.push_back(migration.revision);
  }
  return DetectDrift(conn, migrations, applied);
}

StatusOr<std::vector<std::string>> DetectDrift(db::Connection& conn, const MigrationSet& migrations,
                                               const std::vector<std::string>& applied) {
  CV_ASSIGN_OR_RETURN(db::Rows live_schema, conn.Query("SELECT current_schema()"));
  const std::string live = live_schema.text(0, 0);
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
  CV_ASSIGN_OR_RETURN(Snapshot found, Introspect(*tx, live));

  const std::string scratch = ScratchSchemaName();
  CV_RETURN_IF_ERROR(tx->Exec("CREATE SCHEMA " + db::QuoteIdentifier(scratch)));
  CV_RETURN_IF_ERROR(tx->Exec("SELECT set_config('search_path', $1, true)", {db::QuoteIdentifier(scratch)}));
  for (const std::string& revision : applied) {
    const Migration* found_file = migrations.Find(revision);
    if (found_file == nullptr) continue;
    const Migration& migration = *found_file;
    if (migration.up.step) continue;  // data steps do not change the schema
    for (const auto& statement : migration.up.Statements()) {
      // CONCURRENTLY cannot run in a transaction; in the throwaway scratch
      // schema the plain form builds the same index.
      const std::string sql = WithoutConcurrently(statement.text);
      if (sql.empty()) continue;
      Status status = tx->Exec(sql);
      if (!status.ok()) {
        return status.Annotate("drift check: replaying " + migration.path + " statement at line " +
                               std::to_string(statement.line) + " in a scratch schema");
      }
    }
  }
  CV_ASSIGN_OR_RETURN(Snapshot expected, Introspect(*tx, scratch));
  tx->Abort();  // the scratch schema never existed
  return Compare(expected, found);
}

}  // namespace credvault::migrate
