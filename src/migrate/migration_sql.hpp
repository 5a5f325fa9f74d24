// The SQL `migrate --sql` / `rollback --sql` print instead of running it:
// each migration framed by BEGIN/COMMIT (when transactional) and its history
// bookkeeping, for a DBA to review or run by hand.
#pragma once

#include <string>

#include "credvault/status.hpp"
#include "migrate/migration_plan.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/schema_state.hpp"

namespace credvault::migrate {

// `state` is what the database holds (every migration pending at base); the
// plan is PlanUp's (or PlanOutOfOrder's with `out_of_order`).
StatusOr<std::string> MigrateSql(const MigrationSet& set, const SchemaState& state, const std::string& target,
                                 bool out_of_order = false);
// The plan is PlanRollback's.
StatusOr<std::string> RollbackSql(const MigrationSet& set, const SchemaState& state, const RollbackTarget& target);

}  // namespace credvault::migrate
