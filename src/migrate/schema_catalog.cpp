#include "migrate/schema_catalog.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/status_macros.hpp"

namespace credvault::migrate {
namespace {

// credvault's bookkeeping and Alembic's: not part of anyone's schema.sql
// (nor are the functions that keep credvault_events append-only and let the
// application role record its accesses).
constexpr const char* kSkipRelations =
    "('credvault_schema_history', 'credvault_events', 'credvault_settings', 'credvault_keys', 'alembic_version')";

// Objects that belong to an extension are the extension's business.
constexpr const char* kNotFromExtension =
    "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = %OID% AND e.deptype = 'e')";

std::string NotFromExtension(const std::string& oid) {
  std::string text = kNotFromExtension;
  text.replace(text.find("%OID%"), 5, oid);
  return text;
}

// pg_get_indexdef, pg_get_functiondef and pg_get_triggerdef name the schema
// even when it is on the search_path.
std::string StripSchema(std::string text, const std::string& schema) {
  for (const std::string& prefix : {"\"" + schema + "\".", schema + "."}) {
    for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos)) {
      bool word_start = pos == 0 || !(std::isalnum(static_cast<unsigned char>(text[pos - 1])) || text[pos - 1] == '_');
      if (word_start) {
        text.erase(pos, prefix.size());
      } else {
        pos += prefix.size();
      }
    }
  }
  return text;
}

const std::string kTables =
    std::string("SELECT quote_ident(c.relname), coalesce(obj_description(c.oid, 'pg_class'), '') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname NOT IN ") +
    kSkipRelations + " AND " + NotFromExtension("c.oid");

const std::string kColumns =
    std::string(
        "SELECT quote_ident(c.relname), quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text, "
        "coalesce(col_description(c.oid, a.attnum), ''), "
        "coalesce((SELECT quote_ident(s.relname) FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid "
        "  WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass "
        "  AND dep.refobjid = c.oid AND dep.refobjsubid = a.attnum AND dep.deptype = 'a' AND s.relkind = 'S' "
        "  LIMIT 1), '') "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
        "AND c.relname NOT IN ") +
    kSkipRelations + " ORDER BY c.relname, a.attnum";

const std::string kConstraints =
    std::string("SELECT quote_ident(c.relname), quote_ident(k.conname), k.contype::text, pg_get_constraintdef(k.oid), "
                "coalesce(quote_ident(r.relname), '') "
                "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class r ON r.oid = k.confrelid "
                "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname NOT IN ") +
    kSkipRelations;

const std::string kIndexes =
    std::string("SELECT quote_ident(t.relname), quote_ident(i.relname), pg_get_indexdef(i.oid) "
                "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = $1 AND t.relkind IN ('r', 'p', 'm') AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
                "  WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x')) "
                "AND t.relname NOT IN ") +
    kSkipRelations;

const std::string kSequences =
    "SELECT quote_ident(c.relname), 'AS ' || format_type(s.seqtypid, NULL) || ' INCREMENT BY ' || s.seqincrement || "
    "' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' START WITH ' || s.seqstart || ' CACHE ' || s.seqcache || "
    "CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END, coalesce(obj_description(c.oid, 'pg_class'), '') "
    "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
    "  AND d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0) AND " +
    NotFromExtension("c.oid");

const std::string kEnums =
    "SELECT quote_ident(t.typname), array_to_json(array_agg(e.enumlabel ORDER BY e.enumsortorder))::text, "
    "coalesce(obj_description(t.oid, 'pg_type'), '') "
    "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = $1 AND " + NotFromExtension("t.oid") + " GROUP BY t.oid, t.typname";

const std::string kViews =
    "SELECT quote_ident(c.relname), c.relkind::text, pg_get_viewdef(c.oid), c.oid::bigint, "
    "coalesce(obj_description(c.oid, 'pg_class'), ''), "
    "coalesce((SELECT array_to_json(array_agg(DISTINCT quote_ident(r.relname)))::text FROM pg_rewrite w "
    "  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid "
    "  JOIN pg_class r ON r.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass "
    "  WHERE w.ev_class = c.oid AND r.oid <> c.oid AND r.relnamespace = c.relnamespace), '[]') "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relkind IN ('v', 'm') AND " + NotFromExtension("c.oid");

const std::string kFunctions =
    "SELECT quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.prokind::text, "
    "pg_get_functiondef(p.oid), coalesce(pg_get_function_result(p.oid), ''), "
    "coalesce(obj_description(p.oid, 'pg_proc'), '') "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = $1 AND p.prokind IN ('f', 'p') AND p.proname NOT IN ('credvault_events_append_only', 'credvault_events_stamp', 'credvault_record_access', 'credvault_retire_key') AND " +
    NotFromExtension("p.oid");

const std::string kTriggers =
    std::string("SELECT quote_ident(c.relname), quote_ident(t.tgname), pg_get_triggerdef(t.oid) "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 AND NOT t.tgisinternal AND c.relname NOT IN ") +
    kSkipRelations;

std::set<std::string> JsonStrings(const std::string& text) {
  std::set<std::string> out;
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_array()) {
    for (const auto& item : json) {
      if (item.is_string()) out.insert(item.get<std::string>());
    }
  }
  return out;
}

}  // namespace

const CatalogColumn* CatalogTable::Find(const std::string& column) const {
  for (const auto& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

namespace {

// One row of kColumns (table, name, type, not null, default, identity,
// generated, comment, owned sequence) as a column.
CatalogColumn ColumnFromRow(const db::Rows& columns, std::size_t i) {
  CatalogColumn column;
  column.name = columns.text(i, 1);
  column.type = columns.text(i, 2);
  column.not_null = columns.text(i, 3) == "t";
  column.default_expr = columns.text(i, 4);
  column.identity = columns.text(i, 5);
  column.generated = columns.text(i, 6);
  column.comment = columns.text(i, 7);
  if (column.default_expr.rfind("nextval(", 0) == 0) column.owned_sequence = columns.text(i, 8);
  return column;
}

// One row of kConstraints, its definition without `schema`.
CatalogConstraint ConstraintFromRow(const db::Rows& constraints, std::size_t i, const std::string& schema) {
  CatalogConstraint constraint;
  constraint.table = constraints.text(i, 0);
  constraint.name = constraints.text(i, 1);
  constraint.type = constraints.text(i, 2).empty() ? '?' : constraints.text(i, 2)[0];
  constraint.definition = StripSchema(constraints.text(i, 3), schema);
  constraint.referenced_table = constraints.text(i, 4);
  return constraint;
}

// One row of kEnums: name, labels as a JSON array, comment.
CatalogEnum EnumFromRow(const db::Rows& enums, std::size_t i) {
  CatalogEnum type;
  type.name = enums.text(i, 0);
  auto labels = nlohmann::json::parse(enums.text(i, 1), nullptr, false);
  if (labels.is_array()) {
    for (const auto& label : labels) {
      if (label.is_string()) type.labels.push_back(label.get<std::string>());
    }
  }
  type.comment = enums.text(i, 2);
  return type;
}

// One row of kViews, its definition without `schema`.
CatalogView ViewFromRow(const db::Rows& views, std::size_t i, const std::string& schema) {
  CatalogView view;
  view.name = views.text(i, 0);
  view.materialized = views.text(i, 1) == "m";
  view.definition = StripSchema(views.text(i, 2), schema);
  view.order = std::stoll(views.text(i, 3));
  view.comment = views.text(i, 4);
  view.relations = JsonStrings(views.text(i, 5));
  return view;
}

// One row of kFunctions, its texts without `schema`.
CatalogFunction FunctionFromRow(const db::Rows& functions, std::size_t i, const std::string& schema) {
  CatalogFunction function;
  function.signature = StripSchema(functions.text(i, 0), schema);
  function.procedure = functions.text(i, 1) == "p";
  function.definition = StripSchema(functions.text(i, 2), schema);
  function.result = StripSchema(functions.text(i, 3), schema);
  function.comment = functions.text(i, 4);
  return function;
}

}  // namespace

StatusOr<Catalog> ReadCatalog(db::Transaction& tx, const std::string& schema) {
  CV_RETURN_IF_ERROR(tx.Exec("SELECT set_config('search_path', quote_ident($1), true)", {schema}));
  Catalog catalog;
  const db::Params params{schema};
  CV_ASSIGN_OR_RETURN(db::Rows tables, tx.Query(kTables, params));
  for (std::size_t i = 0; i < tables.size(); ++i) {
    CatalogTable& table = catalog.tables[tables.text(i, 0)];
    table.name = tables.text(i, 0);
    table.comment = tables.text(i, 1);
  }
  CV_ASSIGN_OR_RETURN(db::Rows columns, tx.Query(kColumns, params));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    auto table = catalog.tables.find(columns.text(i, 0));
    if (table == catalog.tables.end()) continue;  // an extension's table
    table->second.columns.push_back(ColumnFromRow(columns, i));
  }
  CV_ASSIGN_OR_RETURN(db::Rows constraints, tx.Query(kConstraints, params));
  for (std::size_t i = 0; i < constraints.size(); ++i) {
    CatalogConstraint constraint = ConstraintFromRow(constraints, i, schema);
    catalog.constraints[constraint.table + "." + constraint.name] = std::move(constraint);
  }
  CV_ASSIGN_OR_RETURN(db::Rows indexes, tx.Query(kIndexes, params));
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    CatalogIndex index{indexes.text(i, 0), indexes.text(i, 1), StripSchema(indexes.text(i, 2), schema)};
    catalog.indexes[index.name] = std::move(index);
  }
  CV_ASSIGN_OR_RETURN(db::Rows sequences, tx.Query(kSequences, params));
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    catalog.sequences[sequences.text(i, 0)] = {sequences.text(i, 0), sequences.text(i, 1), sequences.text(i, 2)};
  }
  CV_ASSIGN_OR_RETURN(db::Rows enums, tx.Query(kEnums, params));
  for (std::size_t i = 0; i < enums.size(); ++i) {
    CatalogEnum type = EnumFromRow(enums, i);
    catalog.enums[type.name] = std::move(type);
  }
  CV_ASSIGN_OR_RETURN(db::Rows views, tx.Query(kViews, params));
  for (std::size_t i = 0; i < views.size(); ++i) {
    CatalogView view = ViewFromRow(views, i, schema);
    catalog.views[view.name] = std::move(view);
  }
  CV_ASSIGN_OR_RETURN(db::Rows functions, tx.Query(kFunctions, params));
  for (std::size_t i = 0; i < functions.size(); ++i) {
    CatalogFunction function = FunctionFromRow(functions, i, schema);
    catalog.functions[function.signature] = std::move(function);
  }
  CV_ASSIGN_OR_RETURN(db::Rows triggers, tx.Query(kTriggers, params));
  for (std::size_t i = 0; i < triggers.size(); ++i) {
    CatalogTrigger trigger{triggers.text(i, 0), triggers.text(i, 1), StripSchema(triggers.text(i, 2), schema)};
    catalog.triggers[trigger.table + "." + trigger.name] = std::move(trigger);
  }
  return catalog;
}

CatalogSnapshot Flatten(const Catalog& catalog) {
  CatalogSnapshot out;
  auto comment = [](const std::string& text) { return text.empty() ? std::string("none") : text; };
  for (const auto& [name, table] : catalog.tables) {
    out["table " + name]["comment"] = comment(table.comment);
    for (const auto& column : table.columns) {
      auto& object = out["column " + name + "." + column.name];
      object["type"] = column.type;
      object["nullability"] = column.not_null ? "not null" : "nullable";
      object["default"] = column.serial() ? "serial" : column.default_expr.empty() ? "none" : column.default_expr;
      object["identity"] = column.identity == "a" ? "always" : column.identity == "d" ? "by default" : "none";
      object["generated"] = column.generated.empty() ? "no" : "stored";
      object["comment"] = comment(column.comment);
    }
  }
  for (const auto& [key, constraint] : catalog.constraints) out["constraint " + key]["definition"] = constraint.definition;
  for (const auto& [key, index] : catalog.indexes) out["index " + key]["definition"] = index.definition;
  for (const auto& [key, sequence] : catalog.sequences) {
    out["sequence " + key]["definition"] = sequence.definition;
    out["sequence " + key]["comment"] = comment(sequence.comment);
  }
  for (const auto& [key, type] : catalog.enums) {
    std::string labels;
    for (const auto& label : type.labels) labels += (labels.empty() ? "" : ", ") + label;
    out["type " + key]["labels"] = "(" + labels + ")";
    out["type " + key]["comment"] = comment(type.comment);
  }
  for (const auto& [key, view] : catalog.views) {
    auto& object = out[(view.materialized ? "materialized view " : "view ") + key];
    object["definition"] = view.definition;
    object["comment"] = comment(view.comment);
  }
  for (const auto& [key, function] : catalog.functions) {
    auto& object = out[(function.procedure ? "procedure " : "function ") + key];
    object["definition"] = function.definition;
    object["comment"] = comment(function.comment);
  }
  for (const auto& [key, trigger] : catalog.triggers) out["trigger " + key]["definition"] = trigger.definition;
  return out;
}

namespace {

// Takes other's value of `field` for each object of `out` whose value differs
// from other's while round_tripped's equals it.
template <typename Map, typename Field>
void AlignField(Map& out, const Map& round_tripped, const Map& other, Field field) {
  for (auto& [key, object] : out) {
    auto trip = round_tripped.find(key);
    auto theirs = other.find(key);
    if (trip == round_tripped.end() || theirs == other.end()) continue;
    if (object.*field != theirs->second.*field && trip->second.*field == theirs->second.*field) {
      object.*field = theirs->second.*field;
    }
  }
}

}  // namespace

Catalog AlignRoundTrip(const Catalog& wanted, const Catalog& round_tripped, const Catalog& other) {
  Catalog out = wanted;
  AlignField(out.constraints, round_tripped.constraints, other.constraints, &CatalogConstraint::definition);
  AlignField(out.indexes, round_tripped.indexes, other.indexes, &CatalogIndex::definition);
  AlignField(out.views, round_tripped.views, other.views, &CatalogView::definition);
  AlignField(out.functions, round_tripped.functions, other.functions, &CatalogFunction::definition);
  AlignField(out.triggers, round_tripped.triggers, other.triggers, &CatalogTrigger::definition);
  for (auto& [name, table] : out.tables) {
    auto trip = round_tripped.tables.find(name);
    auto theirs = other.tables.find(name);
    if (trip == round_tripped.tables.end() || theirs == other.tables.end()) continue;
    for (CatalogColumn& column : table.columns) {
      const CatalogColumn* tripped = trip->second.Find(column.name);
      const CatalogColumn* their = theirs->second.Find(column.name);
      if (tripped == nullptr || their == nullptr) continue;
      if (column.default_expr != their->default_expr && tripped->default_expr == their->default_expr) {
        column.default_expr = their->default_expr;
      }
    }
  }
  return out;
}

std::vector<std::string> CompareCatalogs(const Catalog& expected, const Catalog& found) {
  const CatalogSnapshot want = Flatten(expected);
  const CatalogSnapshot have = Flatten(found);
  auto one_line = [](std::string text) {
    for (char& c : text) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    return text;
  };
  std::vector<std::string> out;
  for (const auto& [object, properties] : want) {
    auto it = have.find(object);
    if (it == have.end()) {
      out.push_back(object + ": missing");
      continue;
    }
    for (const auto& [property, value] : properties) {
      auto other = it->second.find(property);
      std::string actual = other == it->second.end() ? "none" : other->second;
      if (actual != value) {
        out.push_back(object + ": " + property + " " + one_line(value) + " expected, " + one_line(actual) + " found");
      }
    }
  }
  for (const auto& [object, properties] : have) {
    if (want.count(object) == 0) out.push_back(object + ": not expected (not in the schema file)");
  }
  return out;
}

}  // namespace credvault::migrate
