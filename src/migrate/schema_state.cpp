#include "migrate/schema_state.hpp"

#include <algorithm>
#include <tuple>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"

namespace credvault::migrate {

std::string JoinRevisions(const std::vector<const Migration*>& migrations) {
  std::string out;
  for (const Migration* m : migrations) out += (out.empty() ? "" : ", ") + m->revision;
  return out;
}

Status CheckStartable(const SchemaState& state) {
  if (!state.unfinished.empty()) {
    const ledger::HistoryRow& row = *state.unfinished.front();
    return FailedPreconditionError(
        "migration " + row.revision + " is recorded as '" + row.state +
        "': it stopped part-way and was not transactional. Inspect the database and finish or undo its statements by "
        "hand, then record the outcome with `credvault stamp " + row.revision +
        "` (it is complete) or `credvault rollback --to <previous revision>` after undoing it");
  }
  if (!state.out_of_order.empty()) {
    return FailedPreconditionError(
        "revision(s) " + JoinRevisions(state.out_of_order) + " are not applied but older than the current revision " +
        state.current + " (added after newer ones were applied). credvault never skips them silently: give them a "
        "revision id after " + state.current + " (rename the file), or roll back to before them and migrate again");
  }
  if (!state.missing_files.empty()) {
    // An integrity failure, like `check`'s verdict on the same files.
    return DataLossError("applied revision " + state.missing_files.front() +
                             " has no migration file any more; restore the file (see `credvault check`)",
                         reason::kMissingFile);
  }
  if (!state.changed.empty()) {
    return DataLossError("applied migration " + state.changed.front()->path +
                             " was edited after it was applied (checksum differs); restore it, or if the "
                             "change is intended record it with `credvault stamp " +
                             state.changed.front()->revision + "` (see `credvault check`)",
                         reason::kChecksum);
  }
  return Status::Ok();
}

StatusOr<SchemaState> ReadSchemaState(db::Connection& conn, const MigrationSet& set) {
  SchemaState state;
  CV_ASSIGN_OR_RETURN(state.history, ledger::ReadHistory(conn));
  // Revisions applied in order end at `in_order_tip`; only what is missing
  // below it is out of order. A gap below a migration applied ahead of it
  // (--out-of-order) is pending.
  std::string in_order_tip;
  // (effective position, 0 = applied ahead of that position / 1 = itself, revision)
  std::vector<std::tuple<std::string, int, std::string>> order;
  for (const auto& [revision, row] : state.history) {
    if (row.state == "applied") {
      state.current = std::max(state.current, revision);
      if (row.applied_ahead_of.empty()) in_order_tip = std::max(in_order_tip, revision);
      if (!row.applied_ahead_of.empty()) state.applied_ahead.push_back(&row);
      order.emplace_back(row.applied_ahead_of.empty() ? revision : row.applied_ahead_of,
                         row.applied_ahead_of.empty() ? 1 : 0, revision);
    }
    if (row.state != "applied") state.unfinished.push_back(&row);
    if (set.Find(revision) == nullptr) state.missing_files.push_back(revision);
  }
  std::sort(order.begin(), order.end());
  for (const auto& entry : order) state.applied_in_order.push_back(std::get<2>(entry));
  for (const Migration& m : set.all()) {
    auto it = state.history.find(m.revision);
    if (it != state.history.end()) {
      if (it->second.checksum != m.checksum) state.changed.push_back(&m);
    } else if (m.revision < in_order_tip) {
      state.out_of_order.push_back(&m);
    } else {
      state.pending.push_back(&m);
    }
  }
  return state;
}

std::string DescribeCurrent(const SchemaState& state, const MigrationSet& set) {
  if (state.current.empty()) return "";
  std::vector<const Migration*> gap;
  for (const Migration* m : state.pending) {
    if (m->revision < state.current) gap.push_back(m);
  }
  if (!gap.empty()) return state.current + " (applied out of order; pending before it: " + JoinRevisions(gap) + ")";
  return state.current + (state.current == set.head() ? " (head)" : "");
}

Status CheckSchemaAtHead(db::Connection& conn, const MigrationSet& set) {
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  CV_RETURN_IF_ERROR(CheckStartable(state));
  if (state.pending.empty()) return Status::Ok();
  return FailedPreconditionError("the database schema is " + std::to_string(state.pending.size()) +
                                     " migration(s) behind: " + JoinRevisions(state.pending) + " pending; run `credvault migrate`",
                                 reason::kPendingMigrations);
}

}  // namespace credvault::migrate
