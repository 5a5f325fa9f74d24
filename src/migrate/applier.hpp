// Applying or undoing one migration and writing its history row: a
// transactional section with its row in the same transaction (retried on a
// lock timeout); a transaction:false section or native step recorded
// 'running' first, then 'applied', or 'failed'.
#pragma once

#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "migrate/migration_file.hpp"
#include "migrate/migrator_options.hpp"

namespace credvault::migrate {

// The one history row ledger::kInsertHistorySql writes for `migration`: its
// revision, description and checksum, `execution_ms`, this tool's version and
// `state` ("applied", "running" or "failed").
db::Params HistoryRowParams(const Migration& migration, long long execution_ms, const char* state);

// Set per transaction, never per session, so that nothing is left on a
// server connection a pooler hands to someone else. History rows must
// survive a server crash even where the server commits asynchronously by
// default: a lost 'applied' row would run a migration twice.
inline constexpr const char* kTransactionSettings =
    "SELECT set_config('lock_timeout', '5s', true), set_config('synchronous_commit', 'on', true)";

// One history (or other bookkeeping) statement in its own durable transaction.
Status WriteDurably(db::Connection& conn, const char* sql, const db::Params& params);

class Applier {
 public:
  Applier(const MigratorOptions& options, db::Connection& conn) : options_(options), conn_(conn) {}

  // Applies `migration`'s up section and records it applied. `ahead_of`
  // non-empty: recorded as applied out of order, ahead of that pending
  // revision (transactional migrations only, see MigrateOutOfOrder).
  Status Up(const Migration& migration, const std::string& ahead_of = "");

  // Runs `migration`'s down section and removes its history row.
  Status Down(const Migration& migration);

 private:
  // The whole section and its history row in one transaction, retried when
  // a DDL statement waited longer than lock_timeout for a table lock.
  Status InTransaction(const Migration& migration, const Section& section, const char* name, bool up);

  // transaction:false sections and native steps: recorded 'running' first,
  // then 'applied', or 'failed' (which blocks further migrations).
  Status Stepwise(const Migration& migration, const Section& section, const char* name, bool up);

  const MigratorOptions& options_;
  db::Connection& conn_;
  std::string ahead_of_;
};

}  // namespace credvault::migrate
