#include "migrate/schema_file.hpp"

#include <cctype>

#include "migrate/sql_parser.hpp"

namespace credvault::migrate {
namespace {

std::string At(const std::string& path, int line) { return path + ":" + std::to_string(line) + ": "; }

// A key "schemaname" anywhere in a parse tree: a qualified name. (PostgreSQL's
// parser bounds the depth of what it accepts; `depth` bounds this walk too.)
bool NamesASchema(const nlohmann::json& node, int depth = 0) {
  if (depth > 10000) return false;
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "schemaname" && value.is_string() && !value.get<std::string>().empty()) return true;
      if (NamesASchema(value, depth + 1)) return true;
    }
  } else if (node.is_array()) {
    for (const auto& item : node) {
      if (NamesASchema(item, depth + 1)) return true;
    }
  }
  return false;
}

// A string member of a parse-tree object, "" when absent or not a string
// (the tree is untrusted input: nothing here may throw).
std::string StringMember(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

bool TrueMember(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// The LANGUAGE of a CREATE FUNCTION/PROCEDURE ("" when not given: SQL for a
// BEGIN ATOMIC body, an error from the server otherwise).
std::string FunctionLanguage(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("options") || !body["options"].is_array()) return "";
  for (const auto& option : body["options"]) {
    if (!option.is_object() || !option.contains("DefElem")) continue;
    const nlohmann::json& element = option["DefElem"];
    if (StringMember(element, "defname") != "language" || !element.is_object() || !element.contains("arg")) continue;
    const nlohmann::json& arg = element["arg"];
    if (!arg.is_object() || !arg.contains("String")) return "?";
    std::string name = StringMember(arg["String"], "sval");
    if (name.empty()) name = StringMember(arg["String"], "str");
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
  }
  return "";
}

// The statements a schema file may hold: DDL that creates or changes the
// objects of one schema, none of which reads or writes rows when applied to
// empty tables.
bool IsSchemaDdl(const std::string& kind) {
  static const char* const kAllowed[] = {
      "CreateStmt",      "AlterTableStmt",    "IndexStmt",        "CreateSeqStmt",     "AlterSeqStmt",
      "CreateEnumStmt",  "AlterEnumStmt",     "ViewStmt",         "CreateFunctionStmt", "AlterFunctionStmt",
      "CreateTrigStmt",  "CommentStmt",       "CompositeTypeStmt", "CreateDomainStmt",  "AlterDomainStmt",
      "DropStmt",        "RenameStmt",        "CreatePolicyStmt", "AlterPolicyStmt",   "CreateTableAsStmt"};
  for (const char* allowed : kAllowed) {
    if (kind == allowed) return true;
  }
  return false;
}

// Why a statement that is not plain DDL may not be in a schema file ("" when
// it may): a schema file is built in a scratch database, and is DDL only.
std::string DdlRefusal(const std::string& kind, const nlohmann::json& body) {
  if (kind == "CreateTableAsStmt") {
    if (StringMember(body, "objtype") != "OBJECT_MATVIEW") {
      return "CREATE TABLE ... AS runs a query: a schema file holds DDL only (write CREATE TABLE with its columns)";
    }
    const nlohmann::json into = body.is_object() && body.contains("into") ? body["into"] : nlohmann::json();
    if (!TrueMember(into.is_object() && into.contains("IntoClause") ? into["IntoClause"] : into, "skipData")) {
      return "CREATE MATERIALIZED VIEW runs its query unless it says WITH NO DATA: write WITH NO DATA in a schema "
             "file (the definition is compared, not the rows)";
    }
    return "";
  }
  if (kind == "CreateFunctionStmt") {
    const std::string language = FunctionLanguage(body);
    if (!language.empty() && language != "sql" && language != "plpgsql") {
      return "a function in LANGUAGE " + language + ": a schema file may define functions in the trusted languages "
             "sql and plpgsql only (add others with a migration)";
    }
    return "";
  }
  if (IsSchemaDdl(kind)) return "";
  if (kind == "DoStmt") return "DO runs code: a schema file holds DDL only";
  if (kind == "CopyStmt") return "COPY reads or writes data: a schema file holds DDL only";
  if (kind == "CallStmt") return "CALL runs a procedure: a schema file holds DDL only";
  if (kind == "SelectStmt") return "SELECT runs a query: a schema file holds DDL only";
  if (kind == "InsertStmt" || kind == "UpdateStmt" || kind == "DeleteStmt" || kind == "MergeStmt") {
    return "INSERT, UPDATE, DELETE and MERGE change data: a schema file holds DDL only";
  }
  if (kind == "VariableSetStmt") return "SET: a schema file holds DDL only (it is applied with fixed settings)";
  return (kind.empty() ? std::string("this statement") : kind) +
         " is not a statement a schema file may hold: it holds DDL only (tables, columns, constraints, indexes, "
         "sequences, types, views, functions, triggers, comments)";
}

// Why `node` may not be in a schema file ("" when it may).
std::string Refusal(const nlohmann::json& node) {
  const std::string kind = StatementKind(node);
  if (kind == "TransactionStmt") return "transaction control (BEGIN, COMMIT, ...) has no place in a schema file";
  if (kind == "CreateSchemaStmt") return "CREATE SCHEMA: a schema file describes the objects of one schema";
  if (kind == "CreateExtensionStmt") {
    return "CREATE EXTENSION: extensions belong to the database; install it there with a migration";
  }
  const nlohmann::json body = kind.empty() ? nlohmann::json() : node[kind];
  if (kind == "VariableSetStmt" && StringMember(body, "name") == "search_path") {
    return "SET search_path: objects are named without a schema in a schema file";
  }
  if (std::string why = DdlRefusal(kind, body); !why.empty()) return why;
  if (NamesASchema(node)) return "objects are named without a schema in a schema file (it is applied in a scratch schema)";
  return "";
}

}  // namespace

Status ValidateSchemaFile(const std::string& path, std::string_view sql) {
  auto parsed = ParseSql(sql);
  if (!parsed.ok()) {
    std::string message = parsed.status().message();  // "line L: ..."
    if (message.rfind("line ", 0) == 0) message.erase(0, 5);
    return InvalidArgumentError(path + ":" + message);
  }
  for (const ParsedStatement& one : *parsed) {
    if (std::string why = Refusal(one.node); !why.empty()) {
      return InvalidArgumentError(At(path, StatementLine(sql, one.location, one.length)) + why);
    }
  }
  return Status::Ok();
}

}  // namespace credvault::migrate
