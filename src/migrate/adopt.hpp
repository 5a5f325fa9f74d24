// Recording revisions as applied without running them: `credvault stamp`,
// and adopting a database an Alembic history managed so far.
#pragma once

#include <string>

#include "credvault/status.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/migrator_options.hpp"

namespace credvault::migrate {

// Records every revision up to `revision` as applied without running it (and
// re-records its checksum); refuses when a newer revision is applied.
Status Stamp(const MigratorOptions& options, const MigrationSet& set, const std::string& revision);

// Adopts an Alembic-managed database: reads alembic_version, checks the live
// schema against that revision (kDataLoss listing the differences, nothing
// recorded), then stamps it. alembic_version is left as it is.
Status StampFromAlembic(const MigratorOptions& options, const MigrationSet& set);

}  // namespace credvault::migrate
