// Drift: does the live schema match what the applied migrations produce?
//
// Inside ONE transaction that is always rolled back, the up sections of the
// migrations up to `revision` are applied in a scratch schema; both schemas
// are introspected from pg_catalog (columns, types and lengths, nullability,
// defaults, constraints, indexes, triggers) and compared object by object.
// credvault's own tables and alembic_version are not compared.
#pragma once

#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/migration_set.hpp"

namespace credvault::migrate {

// One line per difference, e.g.
// "credentials.client_id: type character varying(512) expected, character varying(255) found".
// Empty when the schemas match. `revision` "" means base (no migration).
StatusOr<std::vector<std::string>> DetectDrift(db::Connection& conn, const MigrationSet& migrations,
                                               const std::string& revision);

// The same, replaying exactly `applied` (revisions in the order they took
// effect, SchemaState::applied_in_order): right also when a migration was
// applied ahead of an older pending one. Revisions without a file are
// skipped (check reports them on their own).
StatusOr<std::vector<std::string>> DetectDrift(db::Connection& conn, const MigrationSet& migrations,
                                               const std::vector<std::string>& applied);

}  // namespace credvault::migrate
