// The database compared with the migration files (SchemaState), and what
// follows from it alone: whether a migrate may start, whether an application
// may start, how to name the current revision.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "ledger/history.hpp"
#include "migrate/migration_set.hpp"

namespace credvault::migrate {

// The database compared with the migration files.
struct SchemaState {
  std::map<std::string, ledger::HistoryRow> history;
  std::string current;                          // newest applied revision; "" = base
  // Not applied and newer than every revision applied in order. That
  // includes a gap left below a migration applied with --out-of-order
  // (then older than `current`): the next plain migrate applies it.
  std::vector<const Migration*> pending;
  // Not applied but older than a revision applied in order (a branch merged
  // late): never skipped silently, migrate refuses.
  std::vector<const Migration*> out_of_order;
  std::vector<const ledger::HistoryRow*> applied_ahead; // applied with --out-of-order (ledger::HistoryRow::applied_ahead_of)
  // Applied revisions in the order they took effect: revision order, except
  // that a migration applied ahead of revision R counts just before R.
  // Rollback undoes them in reverse; the drift check replays them.
  std::vector<std::string> applied_in_order;
  std::vector<std::string> missing_files;       // applied, but the file is gone
  std::vector<const Migration*> changed;        // applied, but the file's checksum differs
  std::vector<const ledger::HistoryRow*> unfinished;    // state running or failed

  bool at_head(const MigrationSet& set) const { return pending.empty() && out_of_order.empty() && current == set.head(); }
};

StatusOr<SchemaState> ReadSchemaState(db::Connection& conn, const MigrationSet& set);

// "20260215_0002 (head)", "20260215_0001" or "" at base.
std::string DescribeCurrent(const SchemaState& state, const MigrationSet& set);

// What refuses a migrate before it starts, with the fix: kDataLoss for applied
// files that changed or vanished (checksum), else kFailedPrecondition
// (unfinished migrations, out-of-order revisions).
Status CheckStartable(const SchemaState& state);

// For applications at startup: ok when the schema is at the head of `set`;
// otherwise kFailedPrecondition saying how many migrations are pending and
// naming them (or what else is wrong).
Status CheckSchemaAtHead(db::Connection& conn, const MigrationSet& set);

// "20260215_0001, 20260215_0002": the revisions of `migrations`, for messages.
std::string JoinRevisions(const std::vector<const Migration*>& migrations);

}  // namespace credvault::migrate
