// What a migrate or rollback will do, decided before anything is applied:
// the plan (which migrations, in which order), and the checks that refuse a
// plan as a whole.
#pragma once

#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/migrator_options.hpp"
#include "migrate/schema_state.hpp"

namespace credvault::migrate {

// Undoes applied migrations, newest first: `steps` of them, or down to
// `target` (exclusive; "base" = all). Refuses before changing anything when
// a migration to undo has no down section or its file is gone.
struct RollbackTarget {
  int steps = 0;           // > 0: this many
  std::string revision;    // else down to this ("base" = everything)
};

// The pending migrations up to `target` ("" = head), in revision order.
// kInvalidArgument (usage) for a revision no file has; kFailedPrecondition
// when the database is already past it.
StatusOr<std::vector<const Migration*>> PlanUp(const MigrationSet& set, const SchemaState& state,
                                               const std::string& target);

// What Rollback would undo, in that order (refusals for missing files or
// down sections as Rollback's).
StatusOr<std::vector<const Migration*>> PlanRollback(const MigrationSet& set, const SchemaState& state,
                                                     const RollbackTarget& target);

// The migration `migrate --out-of-order` applies and the pending revisions
// older than it, which it goes ahead of.
struct OutOfOrderPlan {
  const Migration* migration = nullptr;  // nullptr: already applied
  std::vector<const Migration*> ahead_of;
};

// The plan for `migrate --out-of-order --to target` ("" = the newest file):
// refused (kFailedPrecondition, reason out_of_order) for a migration that
// does not run in one transaction.
StatusOr<OutOfOrderPlan> PlanOutOfOrder(const MigrationSet& set, const SchemaState& state, const std::string& target);

// An unedited template would be recorded as applied having done nothing;
// the SQL written into it afterwards would never run (migrate then refuses
// the file as edited after it was applied). So it is refused before
// anything in the plan is applied, rather than applied with a warning.
Status CheckNoEmptyUp(const std::vector<const Migration*>& plan);

// Asks options.steps for a preflight of every native step in the plan's
// `up` (or down) sections; the first refusal, naming the revision and step.
Status PreflightSteps(const MigratorOptions& options, const std::vector<const Migration*>& plan, bool up);

// A capacity refusal tells to create a widening migration. Whoever created
// it already but ran a plain `migrate` (which sorts it after the step) must
// not be sent to create a second one: name the pending candidates.
Status WithWideningAlreadyPending(const Status& refusal, const std::vector<const Migration*>& plan);

// Sections that run outside a transaction need a server session of their own
// (their lock_timeout is a session setting, and CREATE INDEX CONCURRENTLY
// cannot share a transaction). Through a pooler in transaction mode no such
// session exists, so they are refused (kInvalidArgument, needs_direct_url)
// before anything is applied.
Status RefuseSessionWorkThroughPooler(db::Connection& conn, const std::vector<const Migration*>& plan, bool up);

}  // namespace credvault::migrate
