// What the migration commands share: the migration files, the migrator's
// options from the CLI settings, and the native steps it may run.
#pragma once

#include <memory>

#include "cli/command.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/migrator.hpp"
#include "migrate/step_runner.hpp"

namespace credvault::cli {

StatusOr<migrate::MigrationSet> LoadMigrations(const CommandContext& context);

// The steps `-- migrate:step` may name, backed by the row jobs.
std::unique_ptr<migrate::StepRunner> MakeStepRunner(CommandContext& context);

// Options for the migrator; `steps` must outlive their use.
migrate::MigratorOptions MigratorOptionsFor(const CommandContext& context, migrate::StepRunner* steps,
                                            int lock_timeout_override = -1);

}  // namespace credvault::cli
