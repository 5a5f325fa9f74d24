#include "migrate/migration_file.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/status_macros.hpp"
#include "common/utf8.hpp"
#include "migrate/sql_parser.hpp"

namespace credvault::migrate {
namespace {

std::string At(const std::string& path, int line) { return path + ":" + std::to_string(line) + ": "; }

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

bool IsCommentOrBlank(const std::string& trimmed) { return trimmed.empty() || trimmed.rfind("--", 0) == 0; }

}  // namespace

std::string Migration::Description() const {
  std::string text = slug;
  std::replace(text.begin(), text.end(), '_', ' ');
  return text;
}

bool IsMigrationFileName(std::string_view file_name) {
  static const std::regex pattern(R"(^[0-9]{8}_[0-9]{4}_[a-z0-9_]+\.sql$)");
  return std::regex_match(file_name.begin(), file_name.end(), pattern);
}

std::string MigrationChecksum(std::string_view content) {
  std::string normalized;
  normalized.reserve(content.size());
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\r' && i + 1 < content.size() && content[i + 1] == '\n') continue;
    normalized.push_back(content[i]);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(normalized.data(), normalized.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

namespace {

// One "-- migrate:…" line (`trimmed`, at `line_number`): opens the up or down
// section (`current` then points at it) or names the current section's step.
Status ReadDirective(const std::string& path, int line_number, const std::string& trimmed, Migration& migration,
                     Section*& current) {
  std::istringstream words(trimmed.substr(3));
  std::string directive;
  words >> directive;
  if (directive == "migrate:up" || directive == "migrate:down") {
    Section& section = directive == "migrate:up" ? migration.up : migration.down;
    if (section.present) return InvalidArgumentError(At(path, line_number) + "second -- " + directive + " section");
    if (directive == "migrate:up" && migration.down.present) {
      return InvalidArgumentError(At(path, line_number) + "-- migrate:up must come before -- migrate:down");
    }
    section.present = true;
    section.first_line = line_number + 1;
    for (std::string option; words >> option;) {
      if (option == "transaction:false") {
        section.transactional = false;
      } else if (option != "transaction:true") {
        return InvalidArgumentError(At(path, line_number) + "unknown option '" + option +
                                    "' (known: transaction:false)");
      }
    }
    current = &section;
    return Status::Ok();
  }
  if (directive == "migrate:step") {
    std::string name;
    words >> name;
    if (current == nullptr) return InvalidArgumentError(At(path, line_number) + "-- migrate:step outside a section");
    if (name.empty()) return InvalidArgumentError(At(path, line_number) + "-- migrate:step needs a step name");
    if (current->step) return InvalidArgumentError(At(path, line_number) + "one step per section");
    current->step = name;
    current->sql += '\n';  // keeps statement line numbers true
    return Status::Ok();
  }
  return InvalidArgumentError(At(path, line_number) + "unknown directive -- " + directive +
                              " (known: migrate:up, migrate:down, migrate:step)");
}

// Checks each section as a whole: a step section holds no SQL, and a
// transactional one no CONCURRENTLY statement.
Status CheckSections(const std::string& path, const Migration& migration) {
  for (const Section* section : {&migration.up, &migration.down}) {
    if (!section->present) continue;
    auto statements = section->Statements();
    if (section->step && !statements.empty()) {
      return InvalidArgumentError(At(path, statements.front().line) +
                                  "a section with -- migrate:step holds no SQL");
    }
    if (section->RunsInTransaction()) {
      for (const auto& statement : statements) {
        // A statement PostgreSQL refuses inside a transaction block. Text that
        // does not parse is left to the server, which names the error.
        auto parsed = ParseSql(statement.text);
        if (parsed.ok() && std::any_of(parsed->begin(), parsed->end(), [](const ParsedStatement& p) {
              return IsConcurrentStatement(p.node);
            })) {
          return InvalidArgumentError(At(path, statement.line) +
                                      "CONCURRENTLY cannot run inside a transaction: put it in its own migration "
                                      "whose section line reads `-- migrate:up transaction:false`");
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Migration> ParseMigration(const std::string& path, std::string_view content) {
  Migration migration;
  migration.path = path;
  migration.file_name = std::filesystem::path(path).filename().string();
  if (!IsMigrationFileName(migration.file_name)) {
    return InvalidArgumentError(At(path, 1) + "migration file names must look like YYYYMMDD_NNNN_some_slug.sql "
                                "(lower case, digits and '_')");
  }
  migration.revision = migration.file_name.substr(0, 13);
  migration.slug = migration.file_name.substr(14, migration.file_name.size() - 14 - 4);
  if (std::size_t bad = FindInvalidUtf8(content); bad != std::string_view::npos) {
    int line = 1 + static_cast<int>(std::count(content.begin(), content.begin() + static_cast<long>(bad), '\n'));
    return InvalidArgumentError(At(path, line) + "file is not valid UTF-8");
  }
  migration.checksum = MigrationChecksum(content);

  Section* current = nullptr;
  int line_number = 0;
  std::istringstream lines{std::string(content)};
  std::string raw;
  while (std::getline(lines, raw)) {
    ++line_number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    const std::string trimmed = Trim(raw);
    if (trimmed == "-- credvault:allow-destructive") migration.allow_destructive = true;
    if (trimmed.rfind("-- migrate:", 0) == 0) {
      CV_RETURN_IF_ERROR(ReadDirective(path, line_number, trimmed, migration, current));
      continue;
    }
    if (current == nullptr) {
      if (!IsCommentOrBlank(trimmed)) {
        return InvalidArgumentError(At(path, line_number) + "SQL before the first -- migrate:up line");
      }
      continue;
    }
    current->sql += raw;
    current->sql += '\n';
  }
  if (!migration.up.present) return InvalidArgumentError(At(path, 1) + "no -- migrate:up section");

  CV_RETURN_IF_ERROR(CheckSections(path, migration));
  return migration;
}

StatusOr<Migration> ReadMigrationFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read migration file " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return ParseMigration(path, content.str());
}

}  // namespace credvault::migrate
