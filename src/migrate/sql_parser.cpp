#include "migrate/sql_parser.hpp"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace credvault::migrate {
namespace {

constexpr int kSqlCommentToken = 275;  // Token SQL_COMMENT in pg_query.proto
constexpr int kCCommentToken = 276;    // Token C_COMMENT

// libpg_query reads C strings: text with a NUL byte is cut short there.
bool HasNul(std::string_view sql) { return sql.find('\0') != std::string_view::npos; }

// A reader for the few protobuf fields of pg_query's ScanResult (fields are
// varints or length-delimited; nothing else occurs in it).
class ProtoReader {
 public:
  ProtoReader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ >= end_; }
  bool Varint(std::uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      std::uint8_t byte = *p_++;
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  // Reads one field: its number, wire type, and (varint) value or
  // (length-delimited) bytes.
  bool Field(int& number, int& wire, std::uint64_t& value, ProtoReader& bytes) {
    std::uint64_t key;
    if (!Varint(key)) return false;
    number = static_cast<int>(key >> 3);
    wire = static_cast<int>(key & 7);
    if (wire == 0) return Varint(value);
    if (wire == 2) {
      std::uint64_t length;
      if (!Varint(length) || length > static_cast<std::uint64_t>(end_ - p_)) return false;
      bytes = ProtoReader(p_, static_cast<std::size_t>(length));
      p_ += length;
      return true;
    }
    return false;  // fixed32/fixed64 do not occur in a ScanResult
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// True when [start, start + length) of `sql` holds a token that is not a comment.
bool HasCode(std::string_view sql, int start, int length) {
  auto tokens = ScanSql(sql.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(length)));
  if (!tokens.ok()) return true;  // let the server say what is wrong with it
  return std::any_of(tokens->begin(), tokens->end(), [](const SqlToken& t) { return !t.comment; });
}

template <typename SplitResult>
std::vector<StatementRange> Ranges(std::string_view sql, const SplitResult& result) {
  std::vector<StatementRange> out;
  const int size = static_cast<int>(sql.size());
  for (int i = 0; i < result.n_stmts; ++i) {
    int location = std::clamp(result.stmts[i]->stmt_location, 0, size);
    int length = result.stmts[i]->stmt_len == 0 ? size - location : result.stmts[i]->stmt_len;
    length = std::clamp(length, 0, size - location);
    // The parser's split has only statements with code in them; it drops
    // comment-only text. A range left empty is dropped too.
    if (length > 0) out.push_back({location, length});
  }
  return out;
}

}  // namespace

int LineAt(std::string_view text, std::size_t offset, int first_line) {
  offset = std::min(offset, text.size());
  return first_line + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

int StatementLine(std::string_view sql, int location, int length, int first_line) {
  std::size_t first_code = 0;
  if (auto tokens = ScanSql(sql.substr(static_cast<std::size_t>(location), static_cast<std::size_t>(length)));
      tokens.ok()) {
    for (const SqlToken& token : *tokens) {
      if (!token.comment) {
        first_code = static_cast<std::size_t>(token.start);
        break;
      }
    }
  }
  return LineAt(sql, static_cast<std::size_t>(location) + first_code, first_line);
}

StatusOr<std::vector<SqlToken>> ScanSql(std::string_view sql) {
  if (HasNul(sql)) return InvalidArgumentError("SQL text holds a NUL byte");
  const std::string text(sql);
  PgQueryScanResult result = pg_query_scan(text.c_str());
  if (result.error != nullptr) {
    Status error = InvalidArgumentError(std::string(result.error->message));
    pg_query_free_scan_result(result);
    return error;
  }
  std::vector<SqlToken> tokens;
  ProtoReader scan(reinterpret_cast<const std::uint8_t*>(result.pbuf.data), result.pbuf.len);
  bool ok = true;
  while (ok && !scan.done()) {
    int number = 0, wire = 0;
    std::uint64_t value = 0;
    ProtoReader message(nullptr, 0);
    ok = scan.Field(number, wire, value, message);
    if (!ok || number != 2 || wire != 2) continue;
    SqlToken token;
    while (ok && !message.done()) {
      ProtoReader unused(nullptr, 0);
      ok = message.Field(number, wire, value, unused);
      if (wire != 0) continue;
      if (number == 1) token.start = static_cast<int>(value);
      if (number == 2) token.end = static_cast<int>(value);
      if (number == 4) token.token = static_cast<int>(value);
      if (number == 5) token.keyword = value != 0;
    }
    token.comment = token.token == kSqlCommentToken || token.token == kCCommentToken;
    const int size = static_cast<int>(text.size());
    token.start = std::clamp(token.start, 0, size);
    token.end = std::clamp(token.end, token.start, size);
    tokens.push_back(token);
  }
  pg_query_free_scan_result(result);
  if (!ok) return InternalError("libpg_query returned a scan result that does not decode");
  return tokens;
}

StatusOr<std::vector<ParsedStatement>> ParseSql(std::string_view sql, int first_line) {
  if (HasNul(sql)) return InvalidArgumentError("line " + std::to_string(LineAt(sql, sql.find('\0'), first_line)) +
                                               ": SQL text holds a NUL byte");
  const std::string text(sql);
  PgQueryParseResult result = pg_query_parse(text.c_str());
  if (result.error != nullptr) {
    std::size_t at = result.error->cursorpos > 0 ? static_cast<std::size_t>(result.error->cursorpos - 1) : 0;
    Status error = InvalidArgumentError("line " + std::to_string(LineAt(sql, at, first_line)) + ": " +
                                        result.error->message);
    pg_query_free_parse_result(result);
    return error;
  }
  nlohmann::json tree = nlohmann::json::parse(result.parse_tree, nullptr, /*allow_exceptions=*/false);
  pg_query_free_parse_result(result);
  if (tree.is_discarded()) return InternalError("libpg_query returned a parse tree that is not JSON");
  std::vector<ParsedStatement> out;
  const int size = static_cast<int>(sql.size());
  if (!tree.contains("stmts")) return out;
  for (auto& raw : tree["stmts"]) {
    ParsedStatement statement;
    statement.node = raw.value("stmt", nlohmann::json::object());
    statement.location = std::clamp(raw.value("stmt_location", 0), 0, size);
    int length = raw.value("stmt_len", 0);
    statement.length = std::clamp(length == 0 ? size - statement.location : length, 0, size - statement.location);
    out.push_back(std::move(statement));
  }
  return out;
}

std::vector<StatementRange> SplitSqlRanges(std::string_view sql) {
  if (HasNul(sql)) {
    // The server refuses it, with its own message; nothing to split.
    if (sql.empty()) return {};
    return {{0, static_cast<int>(sql.size())}};
  }
  const std::string text(sql);
  PgQuerySplitResult parsed = pg_query_split_with_parser(text.c_str());
  if (parsed.error == nullptr) {
    auto out = Ranges(sql, parsed);
    pg_query_free_split_result(parsed);
    return out;
  }
  pg_query_free_split_result(parsed);
  // Text that does not parse: split at the ';' tokens outside parentheses
  // (libpg_query's own scanner split drops statements that start with an
  // identifier, so it is not used).
  auto tokens = ScanSql(sql);
  std::vector<StatementRange> out;
  if (!tokens.ok()) {
    // Does not even lex: one statement the server rejects.
    out.push_back({0, static_cast<int>(sql.size())});
    return out;
  }
  int start = 0, depth = 0;
  for (const SqlToken& token : *tokens) {
    if (token.token == '(') ++depth;
    if (token.token == ')' && depth > 0) --depth;
    if (token.token == ';' && depth == 0) {
      if (HasCode(sql, start, token.start - start)) out.push_back({start, token.start - start});
      start = token.end;
    }
  }
  const int size = static_cast<int>(sql.size());
  if (HasCode(sql, start, size - start)) out.push_back({start, size - start});
  return out;
}

std::string StatementKind(const nlohmann::json& node) {
  if (!node.is_object() || node.empty()) return "";
  return node.begin().key();
}

bool IsConcurrentStatement(const nlohmann::json& node) {
  const std::string kind = StatementKind(node);
  if (kind.empty()) return false;
  const nlohmann::json& body = node.at(kind);
  if (!body.is_object()) return false;
  if (kind == "IndexStmt" || kind == "DropStmt") return body.value("concurrent", false);
  if (kind == "ReindexStmt") {
    for (const auto& param : body.value("params", nlohmann::json::array())) {
      if (param.contains("DefElem") && param["DefElem"].value("defname", "") == "concurrently") return true;
    }
    return false;
  }
  if (kind == "AlterTableStmt") {
    for (const auto& command : body.value("cmds", nlohmann::json::array())) {
      const auto& def = command.value("AlterTableCmd", nlohmann::json::object()).value("def", nlohmann::json::object());
      if (def.contains("PartitionCmd") && def["PartitionCmd"].value("concurrent", false)) return true;
    }
  }
  return false;
}

std::string WithoutConcurrently(const std::string& statement) {
  auto parsed = ParseSql(statement);
  if (!parsed.ok() || parsed->size() != 1 || !IsConcurrentStatement(parsed->front().node)) return statement;
  if (StatementKind(parsed->front().node) == "ReindexStmt") return "";
  auto tokens = ScanSql(statement);
  if (!tokens.ok()) return statement;
  for (const SqlToken& token : *tokens) {
    std::string_view text(statement.data() + token.start, static_cast<std::size_t>(token.end - token.start));
    if (token.keyword && IEquals(text, "concurrently")) {
      return statement.substr(0, static_cast<std::size_t>(token.start)) + statement.substr(static_cast<std::size_t>(token.end));
    }
  }
  return statement;
}

}  // namespace credvault::migrate
