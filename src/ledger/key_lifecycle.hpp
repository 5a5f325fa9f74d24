// The key lifecycle table, credvault_keys: one row per kid ever used, active
// or retired. Never key material: kids, states, times and roles only.
//
//   credvault_keys(kid text PRIMARY KEY, state 'active'|'retired',
//                  first_seen timestamptz, retired_at timestamptz, retired_by text)
//
// credvault migrate creates it with the other bookkeeping tables
// (ledger::EnsureHistoryTables); until then
// every reader here sees no retired kid and nothing is recorded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::ledger {

// Appends a `put` or `get_reveal` event (actor = the session's role) through
// the SECURITY DEFINER function credvault_record_access, which the
// application role may execute although it may not write credvault_events.
Status RecordAccessEvent(db::Connection& conn, const std::string& kind, const std::string& details_json);

struct KeyLifecycle {
  std::string kid;
  std::string state;       // "active" or "retired"
  std::string first_seen;  // "YYYY-MM-DD HH:MM:SSZ"
  std::string retired_at;  // "" while active
  std::string retired_by;  // database role; "" while active
  double age_days = 0;     // since first_seen
};

// Whether credvault_keys exists (credvault migrate creates it).
StatusOr<bool> LifecycleTableExists(db::Connection& conn);

// The kids marked retired; empty when the table does not exist yet.
StatusOr<std::set<std::string>> ReadRetiredKids(db::Connection& conn);

// The same set for a reader that must judge values by it in the round trip
// that reads them (a retirement then applies at once): a scalar subquery for
// its select list, giving the kids comma-separated (NULL for none), which
// ParseRetiredKids reads back. Only where the table exists.
std::string RetiredKidsSubquery();
std::set<std::string> ParseRetiredKids(const db::Value& joined);

// Records `kids` as seen now unless already known (never changes a row).
// Does nothing when the table does not exist yet.
Status RecordKidsSeen(db::Connection& conn, const std::vector<std::string>& kids);

// Every row, by kid; nullopt when the table does not exist yet.
StatusOr<std::optional<std::map<std::string, KeyLifecycle>>> ReadKeyLifecycle(db::Connection& conn);

// Values under `kid` per credential column (columns with none are absent).
StatusOr<std::map<std::string, std::uint64_t>> CountValuesUnderKid(db::Connection& conn, const std::string& kid);

// Marks `kid` retired (recording it first if never seen) and appends a
// key_retired event with `origin` details, in one transaction, after
// counting its values again inside it. kFailedPrecondition (reason
// "kid_in_use") naming per-column counts while any value uses it; reason
// "no_lifecycle_table" before `credvault migrate` created the table;
// kAlreadyExists when already retired.
Status RetireKid(db::Connection& conn, const std::string& kid, const std::string& os_user, const std::string& host);

}  // namespace credvault::ledger
