#include "migrate/migration_plan.hpp"

#include <algorithm>
#include <iterator>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"

namespace credvault::migrate {
namespace {

// A section with no statement and no step: what `credvault create` writes
// before anyone edits it.
bool IsEmpty(const Section& section) { return !section.step && section.Statements().empty(); }

bool Contains(const std::vector<const Migration*>& migrations, const std::string& revision) {
  return std::any_of(migrations.begin(), migrations.end(),
                     [&](const Migration* m) { return m->revision == revision; });
}

StatusOr<std::vector<const Migration*>> PlanDown(const MigrationSet& set, const SchemaState& state,
                                                   const RollbackTarget& target) {
  // Newest first in the order they took effect, so a migration applied
  // ahead of R is undone after R (the schema goes back the way it came).
  std::vector<std::string> applied(state.applied_in_order.rbegin(), state.applied_in_order.rend());
  std::vector<std::string> chosen;
  if (target.steps > 0) {
    chosen.assign(applied.begin(), applied.begin() + std::min<std::size_t>(applied.size(), target.steps));
  } else {
    if (target.revision != "base" &&
        std::find(applied.begin(), applied.end(), target.revision) == applied.end()) {
      return InvalidArgumentError("revision " + target.revision + " is not applied; give an applied revision or base",
                                  reason::kUsage);
    }
    for (const auto& revision : applied) {
      if (revision == target.revision) break;
      chosen.push_back(revision);
    }
  }
  std::vector<const Migration*> plan;
  for (const auto& revision : chosen) {
    const Migration* m = set.Find(revision);
    if (m == nullptr) return FailedPreconditionError("cannot roll back " + revision + ": its migration file is gone");
    if (!m->down.present) {
      return FailedPreconditionError("cannot roll back " + revision + ": " + m->path + " has no -- migrate:down section");
    }
    plan.push_back(m);
  }
  return plan;
}

}  // namespace

Status CheckNoEmptyUp(const std::vector<const Migration*>& plan) {
  for (const Migration* m : plan) {
    if (IsEmpty(m->up)) {
      return FailedPreconditionError(
          m->path + ": its -- migrate:up section has no SQL (an unedited `credvault create` template?); nothing was "
                    "applied. Write the migration's statements under -- migrate:up (or create it with `credvault "
                    "create MESSAGE --up SQL`); a migration meant to change nothing needs an explicit statement such "
                    "as `SELECT 1;`",
          "empty_migration");
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<const Migration*>> PlanUp(const MigrationSet& set, const SchemaState& state,
                                                 const std::string& target) {
  if (!target.empty()) {
    if (set.Find(target) == nullptr) return InvalidArgumentError("no migration file has revision " + target, reason::kUsage);
    if (!state.current.empty() && target < state.current && !Contains(state.pending, target)) {
      return FailedPreconditionError("the database is already past " + target + " (at " + state.current +
                                     "); use `credvault rollback --to " + target + "`");
    }
  }
  std::vector<const Migration*> plan;
  for (const Migration* m : state.pending) {
    if (!target.empty() && m->revision > target) break;
    plan.push_back(m);
  }
  return plan;
}

Status PreflightSteps(const MigratorOptions& options, const std::vector<const Migration*>& plan, bool up) {
  for (const Migration* m : plan) {
    const Section& section = up ? m->up : m->down;
    if (!section.step) continue;
    if (options.steps == nullptr) {
      return FailedPreconditionError(m->path + ": native step '" + *section.step + "' is not available here");
    }
    Status status = options.steps->Preflight(*section.step);
    if (!status.ok()) return status.Annotate(m->revision + " (step " + *section.step + ")");
  }
  return Status::Ok();
}

StatusOr<std::vector<const Migration*>> PlanRollback(const MigrationSet& set, const SchemaState& state,
                                                     const RollbackTarget& target) {
  return PlanDown(set, state, target);
}

StatusOr<OutOfOrderPlan> PlanOutOfOrder(const MigrationSet& set, const SchemaState& state, const std::string& target) {
  const std::string revision = target.empty() ? set.head() : target;
  OutOfOrderPlan plan;
  if (revision.empty()) return plan;
  const Migration* m = set.Find(revision);
  if (m == nullptr) return InvalidArgumentError("no migration file has revision " + revision, reason::kUsage);
  if (state.history.count(revision) != 0) return plan;
  if (!m->up.RunsInTransaction()) {
    return FailedPreconditionError(
        m->path + ": --out-of-order applies only a migration that runs in one transaction (not a native step, not "
                  "transaction:false), so that it and its out-of-order record are written together; apply it in "
                  "order with `credvault migrate`",
        "out_of_order");
  }
  plan.migration = m;
  for (const Migration* pending : state.pending) {
    if (pending->revision < revision) plan.ahead_of.push_back(pending);
  }
  return plan;
}

Status WithWideningAlreadyPending(const Status& refusal, const std::vector<const Migration*>& plan) {
  if (refusal.reason() != reason::kCapacity) return refusal;
  auto step = std::find_if(plan.begin(), plan.end(), [](const Migration* m) { return m->up.step.has_value(); });
  std::vector<const Migration*> later;
  if (step != plan.end()) {
    std::copy_if(step + 1, plan.end(), std::back_inserter(later),
                 [](const Migration* m) { return m->up.RunsInTransaction(); });
  }
  if (later.empty()) return refusal;
  return Status(refusal.code(),
                refusal.message() + "\nIf pending " + JoinRevisions(later) +
                    " already widens the column, apply it ahead instead of creating another: credvault migrate "
                    "--out-of-order --to " + later.back()->revision,
                refusal.reason());
}

Status RefuseSessionWorkThroughPooler(db::Connection& conn, const std::vector<const Migration*>& plan, bool up) {
  const Migration* needs_session = nullptr;
  for (const Migration* m : plan) {
    const Section& section = up ? m->up : m->down;
    if (!section.RunsInTransaction() && !section.step) {
      needs_session = m;
      break;
    }
  }
  if (needs_session == nullptr) return Status::Ok();
  CV_ASSIGN_OR_RETURN(bool pooled, conn.IsPooled());
  if (!pooled) return Status::Ok();
  return InvalidArgumentError(
      needs_session->path + " runs outside a transaction (transaction:false), which needs a database session of its "
                            "own, but this connection goes through a connection pooler that hands each transaction to "
                            "another server session. Nothing was applied. Give credvault a direct connection for "
                            "migrations: --direct-url, CREDVAULT_DIRECT_URL or direct_url in credvault.toml",
      "needs_direct_url");
}

}  // namespace credvault::migrate
