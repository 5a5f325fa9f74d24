#include "migrate/schema_file.hpp"

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

// Why `node` may not be in a schema file ("" when it may).
std::string Refusal(const nlohmann::json& node) {
  const std::string kind = StatementKind(node);
  if (kind == "TransactionStmt") return "transaction control (BEGIN, COMMIT, ...) has no place in a schema file";
  if (kind == "CreateSchemaStmt") return "CREATE SCHEMA: a schema file describes the objects of one schema";
  if (kind == "CreateExtensionStmt") {
    return "CREATE EXTENSION: extensions belong to the database; install it there with a migration";
  }
  if (kind == "VariableSetStmt" && node[kind].value("name", "") == "search_path") {
    return "SET search_path: objects are named without a schema in a schema file";
  }
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
