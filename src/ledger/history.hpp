// credvault's bookkeeping tables in the migrated database, owned by this room
// (ledger: below migrate and jobs, which both write them):
//   credvault_schema_history  one row per applied (or running/failed) revision
//   credvault_events          append-only log of migrate, rollback, stamp,
//                             reset, encrypt, rotate ... (who, when, what; never a secret)
//   credvault_settings        the environment the database was migrated for
//   credvault_keys            the key lifecycle: kids seen, retired (ledger/key_lifecycle.hpp)
#pragma once

#include <map>
#include <optional>
#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "ledger/event_details.hpp"

namespace credvault::ledger {

struct HistoryRow {
  std::string revision;
  std::string description;
  std::string checksum;
  std::string applied_at;
  std::string applied_by;
  std::string execution_ms;
  std::string state;  // "applied", "running" or "failed"
  // "" for a migration applied in revision order. `migrate --out-of-order`
  // records here the oldest revision that was pending (older, not applied)
  // when this one was applied ahead of it: that gap is then expected, and a
  // plain `migrate` fills it instead of refusing it as a late merge.
  std::string applied_ahead_of;
};

// Creates the four tables (and the append-only trigger) if missing, with the
// SECURITY DEFINER functions credvault_record_access and credvault_retire_key
// of the key lifecycle (ledger/key_lifecycle.hpp reads and writes
// credvault_keys): bookkeeping DDL, owned here.
Status EnsureHistoryTables(db::Connection& conn);

// Every history row by revision; empty when the tables do not exist yet.
StatusOr<std::map<std::string, HistoryRow>> ReadHistory(db::Connection& conn);

// The recorded environment, or nullopt if none was recorded yet.
StatusOr<std::optional<std::string>> ReadRecordedEnvironment(db::Connection& conn);
Status RecordEnvironment(db::Connection& conn, const std::string& environment);

// Appends an event ("" revision = none).
Status AppendEvent(db::Connection& conn, const std::string& kind, const std::string& revision,
                   const EventDetails& details);
Status AppendEvent(db::Transaction& tx, const std::string& kind, const std::string& revision,
                   const EventDetails& details);

// SQL of the bookkeeping statements, shared by the runner and `--sql`.
inline constexpr const char* kInsertHistorySql =
    "INSERT INTO credvault_schema_history (revision, description, checksum, execution_ms, tool_version, state) "
    "VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (revision) DO UPDATE SET description = EXCLUDED.description, checksum = EXCLUDED.checksum, "
    "applied_at = now(), applied_by = current_user, execution_ms = EXCLUDED.execution_ms, "
    "tool_version = EXCLUDED.tool_version, state = EXCLUDED.state";
// `credvault stamp`: records a revision as applied without running it
// ($1..$4 = revision, description, checksum, tool version). Unlike
// kInsertHistorySql it keeps an existing row's applied_at, applied_by,
// description and execution_ms (the run they describe happened), and only
// re-records the checksum, the state and the tool version.
inline constexpr const char* kStampHistorySql =
    "INSERT INTO credvault_schema_history (revision, description, checksum, execution_ms, tool_version, state) "
    "VALUES ($1, $2, $3, NULL, $4, 'applied') ON CONFLICT (revision) DO UPDATE SET checksum = EXCLUDED.checksum, "
    "state = 'applied', tool_version = EXCLUDED.tool_version";
inline constexpr const char* kMarkAppliedAheadSql =
    "UPDATE credvault_schema_history SET applied_ahead_of = $2 WHERE revision = $1";
inline constexpr const char* kDeleteHistorySql = "DELETE FROM credvault_schema_history WHERE revision = $1";

}  // namespace credvault::ledger
