// The environment a database was migrated for (credvault_settings): the
// check every migrator run makes against it, recording it on the first run,
// and `credvault env set`.
#pragma once

#include "credvault/environment.hpp"
#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/migrator_options.hpp"

namespace credvault::migrate {

// Why a run for `environment` would be refused on a database recorded for
// another one: kFailedPrecondition (reason environment_mismatch) naming both
// and the command that changes the record; ok when they match or nothing is
// recorded yet.
Status CheckEnvironment(db::Connection& conn, Environment environment);

// Records options.environment when nothing is recorded yet, and says so: the
// record decides what is refused on this database from then on.
Status RecordEnvironmentAnnounced(const MigratorOptions& options, db::Connection& conn);

// `credvault env set`: changes the environment recorded in the database
// from `from` to `to`, under the migration lock, with an
// environment_changed event in the same transaction. Refused
// (kFailedPrecondition) when nothing is recorded yet, when `from` is not
// what is recorded, or when the recorded environment is production and
// `production_confirmed` is false.
Status ChangeRecordedEnvironment(const MigratorOptions& options, Environment from, Environment to,
                                 bool production_confirmed);

}  // namespace credvault::migrate
