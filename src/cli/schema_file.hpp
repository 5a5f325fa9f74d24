// The declarative schema file (schema.sql) of create --autogenerate and
// check --schema, and the linter's options from the settings.
#pragma once

#include <string>

#include <memory>

#include "cli/command.hpp"
#include "migrate/dev_database.hpp"
#include "migrate/lint.hpp"

namespace credvault::cli {

// `flag` when given, else the config's schema_file, else schema.sql in the
// parent of the migrations folder.
std::string SchemaFilePath(const CommandContext& context, const std::string& flag);

// The file's text; kNotFound (exit 3) naming it when it cannot be read.
StatusOr<std::string> ReadSchemaFile(const std::string& path);

// The scratch database schema files and migrations are built in: dev_url
// when set, else a temporary database on the live server (direct_url when
// set, else database_url); refused (exit 5) naming dev_url when the role may
// not create one.
StatusOr<std::unique_ptr<migrate::DevDatabase>> OpenDevDatabase(const CommandContext& context,
                                                                const std::string& purpose);

migrate::LintOptions LintOptionsFor(const CommandContext& context);

}  // namespace credvault::cli
