#include "jobs/job_common.hpp"

#include <algorithm>
#include <thread>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "ledger/key_lifecycle.hpp"

namespace credvault::jobs {

std::vector<Row> ToRows(db::Rows&& rows, bool with_index) {
  std::vector<Row> out;
  out.reserve(rows.size());
  for (auto& r : rows.rows) {
    Row row{std::move(*r[0]), std::move(*r[1]), std::move(*r[2]), {}, std::nullopt};
    for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) row.values[c] = std::move(r[3 + c]);
    if (with_index) row.blind_index = std::move(r[3 + ledger::kCredentialColumnCount]);
    out.push_back(std::move(row));
  }
  return out;
}

std::string SelectRowsSql(const std::string& predicate, bool with_index) {
  return "SELECT id::text AS row_id, xmin::text, account_id::text, " + ledger::ColumnList() +
         (with_index ? std::string(", ") + ledger::kBlindIndexColumn : std::string()) + " FROM " +
         ledger::kCredentialsTable + " WHERE id > $1::integer" + (predicate.empty() ? "" : " AND (" + predicate + ")") +
         " ORDER BY id LIMIT $2::integer";
}

unsigned WorkerCount(const JobOptions& options) {
  if (options.workers > 0) return options.workers;
  const unsigned cores = std::thread::hardware_concurrency();  // 0 when unknown
  return cores > 1 ? cores - 1 : 1;
}

StatusOr<JobOptions> WithKeyLifecycle(db::Connection& conn, const JobOptions& options, bool writes_primary) {
  JobOptions out = options;
  if (out.retired_kids && !writes_primary) return out;
  if (!out.retired_kids) {
    CV_ASSIGN_OR_RETURN(out.retired_kids, ledger::ReadRetiredKids(conn));
  }
  if (!writes_primary) return out;
  const std::string& primary = options.keyring->primary_kid();
  if (out.retired_kids->count(primary)) {
    return FailedPreconditionError("the primary key " + primary +
                                       " is retired: nothing may be encrypted under it; make a new key with "
                                       "`credvault keygen` and use it as the primary; nothing was written",
                                   reason::kRetiredKid);
  }
  if (!options.dry_run) CV_RETURN_IF_ERROR(ledger::RecordKidsSeen(conn, {primary}));
  return out;
}

Status RetiredKidError(const std::string& kid) {
  return DataLossError("key " + kid + " is retired: a value under it is refused (restored from an old backup, or "
                       "written by a process still holding the old key)",
                       reason::kRetiredKid);
}

}  // namespace credvault::jobs
