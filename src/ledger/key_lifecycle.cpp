#include "ledger/key_lifecycle.hpp"

#include <sstream>

#include "common/status_macros.hpp"
#include "ledger/credentials_table.hpp"
#include "ledger/event_details.hpp"
#include "ledger/history.hpp"

namespace credvault::ledger {
namespace {

constexpr const char* kSelectRetiredKids = "SELECT kid FROM credvault_keys WHERE state = 'retired'";

// count(*) of values under kid $1, one column per credential column.
std::string CountSql() {
  return "SELECT " + ledger::CountUnderKidSql("$1") + " FROM " + ledger::kCredentialsTable;
}

}  // namespace

StatusOr<bool> LifecycleTableExists(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query("SELECT to_regclass('credvault_keys') IS NOT NULL"));
  return rows.text(0, 0) == "t";
}

Status RecordAccessEvent(db::Connection& conn, const std::string& kind, const std::string& details_json) {
  return conn.Exec("SELECT credvault_record_access($1, $2::jsonb)", {kind, details_json});
}

StatusOr<std::set<std::string>> ReadRetiredKids(db::Connection& conn) {
  std::set<std::string> out;
  CV_ASSIGN_OR_RETURN(bool exists, LifecycleTableExists(conn));
  if (!exists) return out;
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query(kSelectRetiredKids));
  for (std::size_t i = 0; i < rows.size(); ++i) out.insert(rows.text(i, 0));
  return out;
}

std::string RetiredKidsSubquery() {
  return std::string("(SELECT string_agg(kid, ',') FROM (") + kSelectRetiredKids + ") retired)";
}

std::set<std::string> ParseRetiredKids(const db::Value& joined) {
  std::set<std::string> kids;
  if (!joined) return kids;
  std::size_t start = 0;
  while (start < joined->size()) {
    std::size_t comma = joined->find(',', start);
    if (comma == std::string::npos) comma = joined->size();
    if (comma > start) kids.insert(joined->substr(start, comma - start));
    start = comma + 1;
  }
  return kids;
}

Status RecordKidsSeen(db::Connection& conn, const std::vector<std::string>& kids) {
  if (kids.empty()) return Status::Ok();
  CV_ASSIGN_OR_RETURN(bool exists, LifecycleTableExists(conn));
  if (!exists) return Status::Ok();
  for (const std::string& kid : kids) {
    CV_RETURN_IF_ERROR(conn.Exec("INSERT INTO credvault_keys (kid) VALUES ($1) ON CONFLICT (kid) DO NOTHING", {kid}));
  }
  return Status::Ok();
}

StatusOr<std::optional<std::map<std::string, KeyLifecycle>>> ReadKeyLifecycle(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(bool exists, LifecycleTableExists(conn));
  if (!exists) return std::optional<std::map<std::string, KeyLifecycle>>();
  CV_ASSIGN_OR_RETURN(
      db::Rows rows,
      conn.Query("SELECT kid, state, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', "
                 "coalesce(to_char(retired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', ''), "
                 "coalesce(retired_by, ''), extract(epoch FROM now() - first_seen) / 86400 "
                 "FROM credvault_keys ORDER BY first_seen, kid"));
  std::map<std::string, KeyLifecycle> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out[rows.text(i, 0)] = KeyLifecycle{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2),
                                        rows.text(i, 3), rows.text(i, 4), std::stod(rows.text(i, 5))};
  }
  return std::optional<std::map<std::string, KeyLifecycle>>(std::move(out));
}

StatusOr<std::map<std::string, std::uint64_t>> CountValuesUnderKid(db::Connection& conn, const std::string& kid) {
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.ScanOnOneCore(CountSql(), {kid}));
  std::map<std::string, std::uint64_t> out;
  for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
    const std::uint64_t n = std::stoull(rows.text(0, c));
    if (n > 0) out[ledger::kCredentialColumns[c].name] = n;
  }
  return out;
}

Status RetireKid(db::Connection& conn, const std::string& kid, const std::string& os_user, const std::string& host) {
  CV_ASSIGN_OR_RETURN(bool exists, LifecycleTableExists(conn));
  if (!exists) {
    return FailedPreconditionError("this database has no credvault_keys table yet: run `credvault migrate` once with "
                                   "this version of credvault, then retire the key",
                                   "no_lifecycle_table");
  }
  CV_ASSIGN_OR_RETURN(db::Rows function,
                      conn.Query("SELECT to_regprocedure('credvault_retire_key(text, jsonb)') IS NOT NULL"));
  if (function.text(0, 0) != "t") {
    return FailedPreconditionError("this database has no credvault_retire_key function yet: run `credvault migrate` "
                                   "once with this version of credvault, then retire the key",
                                   "no_lifecycle_table");
  }
  // Through the definer function (the jobs role may not UPDATE credvault_keys):
  // it checks and retires in one transaction, and records the event.
  const std::string details =
      ledger::EventDetails().AddText("kid", kid).AddText("os_user", os_user).AddText("host", host).ToJson();
  CV_ASSIGN_OR_RETURN(db::Rows result, conn.Query("SELECT credvault_retire_key($1, $2::jsonb)", {kid, details}));
  const std::string outcome = result.text(0, 0);
  if (outcome == "already_retired") return AlreadyExistsError("key " + kid + " is already retired", "already_retired");
  if (outcome == "retired") return Status::Ok();
  // "in_use <n> <n> <n>", one count per credential column.
  std::istringstream counts(outcome.substr(outcome.find(' ') + 1));
  std::string in_use;
  std::uint64_t total = 0;
  for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
    std::uint64_t n = 0;
    counts >> n;
    total += n;
    if (n > 0) in_use += std::string(in_use.empty() ? "" : ", ") + ledger::kCredentialColumns[c].name + " " + std::to_string(n);
  }
  return FailedPreconditionError("key " + kid + " is still used by " + std::to_string(total) + " value(s) (" + in_use +
                                     "): run `credvault rotate` with a new primary key first, then retire it; "
                                     "nothing was changed",
                                 "kid_in_use");
}

}  // namespace credvault::ledger
