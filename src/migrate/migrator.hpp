// The migrator: applying or undoing migrations under the migration lock,
// each in its own transaction. This header is the whole migrator's API; its
// pieces have their own headers (included here):
//   migrator_options.hpp   what every operation is given
//   schema_state.hpp       the database compared with the files
//   migration_plan.hpp     what a migrate / rollback will do, and its refusals
//   migration_sql.hpp      migrate --sql / rollback --sql
//   adopt.hpp              stamp, adopting an Alembic database
//   recorded_environment.hpp  the environment a database records, env set
#pragma once

#include <string>

#include "credvault/status.hpp"
#include "migrate/adopt.hpp"
#include "migrate/migration_plan.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/migration_sql.hpp"
#include "migrate/migrator_options.hpp"
#include "migrate/recorded_environment.hpp"
#include "migrate/schema_state.hpp"

namespace credvault::migrate {

// Applies pending migrations up to `target` ("" = head). Refuses, before
// applying anything: a recorded environment other than options.environment,
// unfinished (failed/running) migrations, out-of-order revisions, applied
// files that changed or vanished, and steps whose preflight fails.
Status Migrate(const MigratorOptions& options, const MigrationSet& set, const std::string& target);

// `migrate --out-of-order`: applies the one migration `target` ("" = the
// newest file) now, ahead of the older revisions still pending, and records
// which one it went ahead of (history column applied_ahead_of, event
// migrate_out_of_order). A plain Migrate then applies the gap. Only for a
// migration that runs in one transaction, so the effect and its record are
// atomic. With nothing older pending it is an ordinary apply.
Status MigrateOutOfOrder(const MigratorOptions& options, const MigrationSet& set, const std::string& target);

// Undoes applied migrations as RollbackTarget says (migration_plan.hpp).
Status Rollback(const MigratorOptions& options, const MigrationSet& set, const RollbackTarget& target);

// Drops the current schema with everything in it and migrates to head.
// Refused (kFailedPrecondition) in production or on a database recorded as
// production.
Status Reset(const MigratorOptions& options, const MigrationSet& set);

}  // namespace credvault::migrate
