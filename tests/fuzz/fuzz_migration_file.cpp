// Arbitrary bytes as a migration file: the section parser, the statement
// splitter and the checksum. Errors must name the file; a parsed file must
// split into statements that lie inside it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "migrate/migration_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  const std::string path = "migrations/20260101_0001_fuzz.sql";
  auto migration = credvault::migrate::ParseMigration(path, content);
  if (!migration.ok()) {
    if (migration.status().message().find("20260101_0001_fuzz.sql") == std::string::npos) std::abort();
    return 0;
  }
  if (!migration->up.present) std::abort();  // "no up section" is an error
  if (migration->checksum.size() != 64 || migration->checksum != credvault::migrate::MigrationChecksum(content)) {
    std::abort();
  }
  int lines = 1;
  for (char c : content) lines += c == '\n';
  for (const auto* section : {&migration->up, &migration->down}) {
    if (section->step && !section->sql.empty() && section->Statements().size() > 0) std::abort();  // a step or SQL
    for (const auto& statement : section->Statements()) {
      if (statement.text.empty() || statement.line < 1 || statement.line > lines) std::abort();
    }
  }
  return 0;
}
