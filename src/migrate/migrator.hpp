// The migrator: what is applied, what is pending, and applying or undoing
// migrations under the migration lock, each in its own transaction.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "credvault/environment.hpp"
#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/history.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/step_runner.hpp"

namespace credvault::migrate {

struct MigratorOptions {
  std::string conninfo;
  // Where given, the migration lock and the migrations themselves use this
  // connection (one that reaches PostgreSQL without a pooler); native steps
  // and everything else use `conninfo`. "" = `conninfo` for everything.
  std::string direct_conninfo;
  Environment environment = Environment::kProduction;
  int lock_timeout_seconds = 60;
  std::shared_ptr<spdlog::logger> log;
  StepRunner* steps = nullptr;  // nullptr: no native step is available
};

// The database compared with the migration files.
struct SchemaState {
  std::map<std::string, HistoryRow> history;
  std::string current;                          // newest applied revision; "" = base
  // Not applied and newer than every revision applied in order. That
  // includes a gap left below a migration applied with --out-of-order
  // (then older than `current`): the next plain migrate applies it.
  std::vector<const Migration*> pending;
  // Not applied but older than a revision applied in order (a branch merged
  // late): never skipped silently, migrate refuses.
  std::vector<const Migration*> out_of_order;
  std::vector<const HistoryRow*> applied_ahead; // applied with --out-of-order (HistoryRow::applied_ahead_of)
  // Applied revisions in the order they took effect: revision order, except
  // that a migration applied ahead of revision R counts just before R.
  // Rollback undoes them in reverse; the drift check replays them.
  std::vector<std::string> applied_in_order;
  std::vector<std::string> missing_files;       // applied, but the file is gone
  std::vector<const Migration*> changed;        // applied, but the file's checksum differs
  std::vector<const HistoryRow*> unfinished;    // state running or failed

  bool at_head(const MigrationSet& set) const { return pending.empty() && out_of_order.empty() && current == set.head(); }
};

StatusOr<SchemaState> ReadSchemaState(db::Connection& conn, const MigrationSet& set);

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

// Undoes applied migrations, newest first: `steps` of them, or down to
// `target` (exclusive; "base" = all). Refuses before changing anything when
// a migration to undo has no down section or its file is gone.
struct RollbackTarget {
  int steps = 0;           // > 0: this many
  std::string revision;    // else down to this ("base" = everything)
};
Status Rollback(const MigratorOptions& options, const MigrationSet& set, const RollbackTarget& target);

// The SQL `migrate --sql` / `rollback --sql` print: each migration framed by
// BEGIN/COMMIT (when transactional) and its history bookkeeping. `from` is
// the current revision ("" = base).
// `state` is what the database holds (every migration pending at base).
StatusOr<std::string> MigrateSql(const MigrationSet& set, const SchemaState& state, const std::string& target,
                                 bool out_of_order = false);
StatusOr<std::string> RollbackSql(const MigrationSet& set, const SchemaState& state, const RollbackTarget& target);

// What Rollback would undo, in that order (refusals for missing files or
// down sections as Rollback's).
StatusOr<std::vector<const Migration*>> PlanRollback(const MigrationSet& set, const SchemaState& state,
                                                     const RollbackTarget& target);

// Why a run for `environment` would be refused on a database recorded for
// another one: kFailedPrecondition (reason environment_mismatch) naming both
// and the command that changes the record; ok when they match or nothing is
// recorded yet.
Status CheckEnvironment(db::Connection& conn, Environment environment);

// `credvault env set`: changes the environment recorded in the database
// from `from` to `to`, under the migration lock, with an
// environment_changed event in the same transaction. Refused
// (kFailedPrecondition) when nothing is recorded yet, when `from` is not
// what is recorded, or when the recorded environment is production and
// `production_confirmed` is false.
Status ChangeRecordedEnvironment(const MigratorOptions& options, Environment from, Environment to,
                                 bool production_confirmed);

// Records every revision up to `revision` as applied without running it (and
// re-records its checksum); refuses when a newer revision is applied.
Status Stamp(const MigratorOptions& options, const MigrationSet& set, const std::string& revision);

// Adopts an Alembic-managed database: reads alembic_version, checks the live
// schema against that revision (kDataLoss listing the differences, nothing
// recorded), then stamps it. alembic_version is left as it is.
Status StampFromAlembic(const MigratorOptions& options, const MigrationSet& set);

// Drops the current schema with everything in it and migrates to head.
// Refused (kFailedPrecondition) in production or on a database recorded as
// production.
Status Reset(const MigratorOptions& options, const MigrationSet& set);

// For applications at startup: ok when the schema is at the head of `set`;
// otherwise kFailedPrecondition saying how many migrations are pending and
// naming them (or what else is wrong).
Status CheckSchemaAtHead(db::Connection& conn, const MigrationSet& set);

// "20260215_0002 (head)", "20260215_0001" or "" at base.
std::string DescribeCurrent(const SchemaState& state, const MigrationSet& set);

}  // namespace credvault::migrate
