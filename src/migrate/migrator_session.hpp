// The session every migrator operation that changes the database works in:
// the migration lock held, a connection (direct_url when given), and the
// state read under the lock.
#pragma once

#include <memory>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/migration_lock.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/migrator_options.hpp"
#include "migrate/schema_state.hpp"

namespace credvault::migrate {

struct Session {
  std::unique_ptr<MigrationLock> lock;
  std::unique_ptr<db::Connection> conn;
};

// Takes the migration lock and opens the connection the migrations run on
// (options.direct_conninfo, else options.conninfo). A connection failure
// (kUnavailable) names the server it tried.
StatusOr<Session> Lock(const MigratorOptions& options);

// What every migrate and rollback does first, with the lock held: the
// bookkeeping tables exist, the environment matches, interrupted native steps
// are set to run again (`up`: migrate; else rollback), and the state is read.
StatusOr<SchemaState> ReadLockedState(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set,
                                      bool up);

}  // namespace credvault::migrate
