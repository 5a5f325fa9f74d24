// The declarative schema file (schema.sql) of create --autogenerate and
// check --schema, and the linter's options from the settings.
#pragma once

#include <string>

#include "cli/command.hpp"
#include "migrate/lint.hpp"

namespace credvault::cli {

// `flag` when given, else the config's schema_file, else schema.sql in the
// parent of the migrations folder.
std::string SchemaFilePath(const CommandContext& context, const std::string& flag);

// The file's text; kNotFound (exit 3) naming it when it cannot be read.
StatusOr<std::string> ReadSchemaFile(const std::string& path);

migrate::LintOptions LintOptionsFor(const CommandContext& context);

}  // namespace credvault::cli
