#include "migrate/lint.hpp"

#include <algorithm>

#include "common/status_macros.hpp"
#include "credvault/envelope.hpp"
#include "ledger/credentials_table.hpp"
#include "migrate/sql_parser.hpp"

namespace credvault::migrate {
namespace {

using nlohmann::json;

const json& Field(const json& node, const char* key) {
  static const json kNull;
  if (!node.is_object()) return kNull;
  auto it = node.find(key);
  return it == node.end() ? kNull : *it;
}

std::string Text(const json& node, const char* key) {
  const json& value = Field(node, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// "schema"."table" (or just "table") of a RangeVar, quoted for to_regclass.
std::string RelationName(const json& range_var) {
  std::string name = db::QuoteIdentifier(Text(range_var, "relname"));
  std::string schema = Text(range_var, "schemaname");
  return schema.empty() ? name : db::QuoteIdentifier(schema) + "." + name;
}

std::string DisplayName(const json& range_var) {
  std::string schema = Text(range_var, "schemaname");
  return (schema.empty() ? "" : schema + ".") + Text(range_var, "relname");
}

// The last part of a TypeName's name ("varchar", "int4", "numeric", "text").
std::string TypeBaseName(const json& type_name) {
  const json& names = Field(type_name, "names");
  if (!names.is_array() || names.empty()) return "";
  return Text(Field(names.back(), "String"), "sval");
}

std::vector<long long> TypeMods(const json& type_name) {
  std::vector<long long> out;
  const json& mods = Field(type_name, "typmods");
  if (!mods.is_array()) return out;
  for (const auto& mod : mods) {
    const json& ival = Field(Field(Field(mod, "A_Const"), "ival"), "ival");
    out.push_back(ival.is_number_integer() ? ival.get<long long>() : 0);
  }
  return out;
}

struct LiveColumn {
  bool exists = false;
  std::string type;    // typname: varchar, bpchar, text, int4, numeric, ...
  long long typmod = -1;
};

struct TableFacts {
  bool exists = false;
  long long rows_up_to_limit = 0;  // count(*) of at most limit + 1 rows
};

class Linter {
 public:
  Linter(const Migration& migration, db::Connection* conn, const LintOptions& options)
      : migration_(migration), conn_(conn), options_(options) {}

  StatusOr<std::vector<LintFinding>> Run() {
    if (!migration_.down.present || (!migration_.down.step && migration_.down.Statements().empty())) {
      Add(1, "no_down", "no -- migrate:down section" + std::string(migration_.down.present ? " statements" : ""),
          "the migration cannot be rolled back: `credvault rollback` refuses it",
          "write the SQL that undoes the up section under -- migrate:down");
    }
    if (!migration_.up.step) {
      for (const SqlStatement& statement : migration_.up.Statements()) {
        auto parsed = ParseSql(statement.text);
        if (!parsed.ok()) continue;  // the server names the error when it runs
        for (const ParsedStatement& one : *parsed) CV_RETURN_IF_ERROR(Statement(statement.line, one.node));
      }
    }
    return std::move(findings_);
  }

 private:
  void Add(int line, std::string rule, std::string what, std::string why, std::string alternative) {
    findings_.push_back({migration_.path, line, std::move(rule), std::move(what), std::move(why), std::move(alternative)});
  }

  void Destructive(int line, const std::string& what) {
    if (migration_.allow_destructive) return;
    Add(line, "destructive", what, "it deletes data that no down section can bring back",
        "keep the old object until nothing reads it, and once the loss is reviewed and intended add the line `" +
            std::string(kAllowDestructive) + "` to the file");
  }

  Status Statement(int line, const json& node) {
    const std::string kind = StatementKind(node);
    const json& body = Field(node, kind.c_str());
    if (kind == "DropStmt" && Text(body, "removeType") == "OBJECT_TABLE") {
      for (const auto& object : Field(body, "objects")) {
        std::string name;
        for (const auto& part : Field(Field(object, "List"), "items")) {
          name += (name.empty() ? "" : ".") + Text(Field(part, "String"), "sval");
        }
        Destructive(line, "DROP TABLE " + name);
      }
    } else if (kind == "AlterTableStmt" && Text(body, "objtype") == "OBJECT_TABLE") {
      for (const auto& command : Field(body, "cmds")) {
        CV_RETURN_IF_ERROR(AlterTableCommand(line, Field(body, "relation"), Field(command, "AlterTableCmd")));
      }
    } else if (kind == "IndexStmt" && !Field(body, "concurrent").is_boolean()) {  // the key is there only when true
      CV_RETURN_IF_ERROR(Index(line, Field(body, "relation"), Text(body, "idxname")));
    }
    return Status::Ok();
  }

  Status AlterTableCommand(int line, const json& relation, const json& command) {
    const std::string subtype = Text(command, "subtype");
    const std::string column = Text(command, "name");
    const std::string table = DisplayName(relation);
    if (subtype == "AT_DropColumn") {
      Destructive(line, "DROP COLUMN " + table + "." + column);
    } else if (subtype == "AT_AlterColumnType") {
      CV_RETURN_IF_ERROR(Narrowing(line, relation, column, Field(Field(Field(command, "def"), "ColumnDef"), "typeName")));
    } else if (subtype == "AT_SetNotNull") {
      CV_ASSIGN_OR_RETURN(TableFacts facts, Table(relation));
      if (facts.rows_up_to_limit > 0) {
        Add(line, "not_null", "SET NOT NULL on " + table + "." + column + ", a table with rows",
            "PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock, and fails on the first NULL",
            "ADD CONSTRAINT ... CHECK (" + column + " IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT in a later "
            "migration (no long lock), then SET NOT NULL (PostgreSQL uses the valid check and skips the scan)");
      }
    } else if (subtype == "AT_AddColumn") {
      const json& def = Field(Field(command, "def"), "ColumnDef");
      bool not_null = false, has_default = false;
      const std::string type = TypeBaseName(Field(def, "typeName"));
      if (type == "serial" || type == "bigserial" || type == "smallserial" || type == "serial4" || type == "serial8") {
        has_default = true;
      }
      for (const auto& constraint : Field(def, "constraints")) {
        const std::string contype = Text(Field(constraint, "Constraint"), "contype");
        if (contype == "CONSTR_NOTNULL" || contype == "CONSTR_PRIMARY") not_null = true;
        if (contype == "CONSTR_DEFAULT" || contype == "CONSTR_IDENTITY" || contype == "CONSTR_GENERATED") has_default = true;
      }
      if (not_null && !has_default) {
        CV_ASSIGN_OR_RETURN(TableFacts facts, Table(relation));
        if (facts.rows_up_to_limit > 0) {
          Add(line, "not_null", "ADD COLUMN " + table + "." + Text(def, "colname") + " NOT NULL without a default",
              "the table has rows, which would all be NULL in the new column: the statement fails",
              "add the column with a DEFAULT, or nullable; fill it; then SET NOT NULL in a later migration");
        }
      }
    }
    return Status::Ok();
  }

  Status Index(int line, const json& relation, const std::string& name) {
    CV_ASSIGN_OR_RETURN(TableFacts facts, Table(relation));
    if (facts.exists && facts.rows_up_to_limit > options_.large_table_rows) {
      Add(line, "blocking_index",
          "CREATE INDEX " + (name.empty() ? std::string() : name + " ") + "without CONCURRENTLY on " +
              DisplayName(relation) + ", more than " + std::to_string(options_.large_table_rows) + " rows",
          "it blocks every write to the table until the index is built",
          "CREATE INDEX CONCURRENTLY, in a migration of its own whose section line reads "
          "`-- migrate:up transaction:false`");
    }
    return Status::Ok();
  }

  Status Narrowing(int line, const json& relation, const std::string& column, const json& type_name) {
    if (conn_ == nullptr) return Status::Ok();
    CV_ASSIGN_OR_RETURN(LiveColumn live, Column(relation, column));
    if (!live.exists) return Status::Ok();
    const std::string target = TypeBaseName(type_name);
    const std::vector<long long> mods = TypeMods(type_name);
    const std::string name = DisplayName(relation) + "." + column;
    bool narrower = false;
    long long new_chars = -1;
    const bool live_chars = live.type == "varchar" || live.type == "bpchar" || live.type == "text";
    if ((target == "varchar" || target == "bpchar") && live_chars) {
      new_chars = mods.empty() ? (target == "bpchar" ? 1 : -1) : mods.front();
      long long old_chars = live.type == "text" || live.typmod < 0 ? -1 : live.typmod - 4;
      narrower = new_chars >= 0 && (old_chars < 0 || new_chars < old_chars);
    } else {
      auto width = [](const std::string& t) { return t == "int2" ? 2 : t == "int4" ? 4 : t == "int8" ? 8 : 0; };
      if (width(target) && width(live.type) && width(target) < width(live.type)) narrower = true;
      if (target == "numeric" && live.type == "numeric" && !mods.empty()) {
        long long precision = mods[0], scale = mods.size() > 1 ? mods[1] : 0;
        if (live.typmod < 0) {
          narrower = true;
        } else {
          long long old_precision = ((live.typmod - 4) >> 16) & 0xffff, old_scale = (live.typmod - 4) & 0xffff;
          narrower = precision - scale < old_precision - old_scale || scale < old_scale;
        }
      }
    }
    if (!narrower) return Status::Ok();
    Destructive(line, "ALTER COLUMN " + name + " TYPE narrows it");
    if (new_chars < 0) return Status::Ok();

    // What the column holds now.
    const std::string table_sql = RelationName(relation);
    const std::string column_sql = db::QuoteIdentifier(column);
    const bool encrypted = Text(relation, "relname") == ledger::kCredentialsTable &&
                           std::find_if(ledger::kCredentialColumns.begin(), ledger::kCredentialColumns.end(),
                                        [&](const ledger::CredentialColumn& c) { return column == c.name; }) != ledger::kCredentialColumns.end();
    CV_ASSIGN_OR_RETURN(db::Rows rows,
                        conn_->Query("SELECT count(*), coalesce(max(char_length(" + column_sql + "::text)), 0), "
                                     "coalesce(max(octet_length(" + column_sql + "::text)) FILTER (WHERE " +
                                     column_sql + "::text NOT LIKE 'cv1:%'), -1) FROM " + table_sql));
    const long long count = std::stoll(rows.text(0, 0));
    const long long longest = std::stoll(rows.text(0, 1));
    const long long longest_plaintext = std::stoll(rows.text(0, 2));
    if (longest > new_chars) {
      Add(line, "narrowing",
          name + " narrowed to " + std::to_string(new_chars) + " characters, but its longest value has " +
              std::to_string(longest) + " (" + std::to_string(count) + " rows)",
          "PostgreSQL refuses the change (value too long) and the migration fails half way",
          "keep the column at least " + std::to_string(longest) + " characters wide, or shorten the values first");
    } else if (encrypted && longest_plaintext >= 0) {
      const auto needed = static_cast<long long>(
          CiphertextLength(static_cast<std::size_t>(longest_plaintext), Algorithm::kXChaCha20Poly1305));
      if (needed > new_chars) {
        Add(line, "narrowing",
            name + " (encrypted) narrowed to " + std::to_string(new_chars) + " characters, but its longest plaintext has " +
                std::to_string(longest_plaintext) + " bytes, " + std::to_string(needed) + " characters once encrypted (" +
                std::to_string(count) + " rows)",
            "`credvault encrypt` would then refuse to run: the ciphertext would not fit",
            "keep the column at least " + std::to_string(needed) + " characters wide");
      }
    }
    return Status::Ok();
  }

  StatusOr<LiveColumn> Column(const json& relation, const std::string& column) {
    LiveColumn out;
    CV_ASSIGN_OR_RETURN(db::Rows rows,
                        conn_->Query("SELECT t.typname::text, a.atttypmod FROM pg_attribute a "
                                     "JOIN pg_type t ON t.oid = a.atttypid "
                                     "WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
                                     {RelationName(relation), column}));
    if (rows.empty()) return out;
    out.exists = true;
    out.type = rows.text(0, 0);
    out.typmod = std::stoll(rows.text(0, 1));
    return out;
  }

  StatusOr<TableFacts> Table(const json& relation) {
    TableFacts facts;
    if (conn_ == nullptr) return facts;
    CV_ASSIGN_OR_RETURN(db::Rows exists, conn_->Query("SELECT to_regclass($1) IS NOT NULL", {RelationName(relation)}));
    if (exists.text(0, 0) != "t") return facts;
    facts.exists = true;
    CV_ASSIGN_OR_RETURN(db::Rows rows, conn_->Query("SELECT count(*) FROM (SELECT 1 FROM " + RelationName(relation) +
                                                    " LIMIT $1) s",
                                                    {std::to_string(options_.large_table_rows + 1)}));
    facts.rows_up_to_limit = std::stoll(rows.text(0, 0));
    return facts;
  }

  const Migration& migration_;
  db::Connection* conn_;
  LintOptions options_;
  std::vector<LintFinding> findings_;
};

}  // namespace

std::string LintFinding::Format() const {
  return path + ":" + std::to_string(line) + ": " + rule + ": " + what + ": " + why + ". Instead: " + alternative;
}

StatusOr<std::vector<LintFinding>> LintMigration(const Migration& migration, db::Connection* conn,
                                                 const LintOptions& options) {
  return Linter(migration, conn, options).Run();
}

}  // namespace credvault::migrate
