#include "migrate/migrator.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <thread>
#include <tuple>

#include "common/status_macros.hpp"
#include "db/connection_target.hpp"
#include "db/sqlstate.hpp"
#include "migrate/drift.hpp"
#include "migrate/migration_lock.hpp"

namespace credvault::migrate {
namespace {

constexpr int kLockTimeoutRetries = 3;

// Set per transaction, never per session, so that nothing is left on a
// server connection a pooler hands to someone else. History rows must
// survive a server crash even where the server commits asynchronously by
// default: a lost 'applied' row would run a migration twice.
constexpr const char* kTransactionSettings =
    "SELECT set_config('lock_timeout', '5s', true), set_config('synchronous_commit', 'on', true)";

// One history (or other bookkeeping) statement in its own durable transaction.
Status WriteDurably(db::Connection& conn, const char* sql, const db::Params& params) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
  CV_RETURN_IF_ERROR(tx->Exec(kTransactionSettings));
  CV_RETURN_IF_ERROR(tx->Exec(sql, params));
  return tx->Commit();
}

std::string Join(const std::vector<const Migration*>& migrations) {
  std::string out;
  for (const Migration* m : migrations) out += (out.empty() ? "" : ", ") + m->revision;
  return out;
}

long long MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

Status StatementError(const Migration& migration, const char* section, std::size_t index, const SqlStatement& statement,
                      const Status& error) {
  return Status(error.code(),
                migration.path + ": " + section + " statement " + std::to_string(index + 1) + " (line " +
                    std::to_string(statement.line) + ") failed: " + error.message(),
                error.reason());
}

// What refuses a migrate before it starts, with the fix: kDataLoss for applied
// files that changed or vanished (checksum), else kFailedPrecondition.
Status CheckStartable(const SchemaState& state) {
  if (!state.unfinished.empty()) {
    const HistoryRow& row = *state.unfinished.front();
    return FailedPreconditionError(
        "migration " + row.revision + " is recorded as '" + row.state +
        "': it stopped part-way and was not transactional. Inspect the database and finish or undo its statements by "
        "hand, then record the outcome with `credvault stamp " + row.revision +
        "` (it is complete) or `credvault rollback --to <previous revision>` after undoing it");
  }
  if (!state.out_of_order.empty()) {
    return FailedPreconditionError(
        "revision(s) " + Join(state.out_of_order) + " are not applied but older than the current revision " +
        state.current + " (added after newer ones were applied). credvault never skips them silently: give them a "
        "revision id after " + state.current + " (rename the file), or roll back to before them and migrate again");
  }
  if (!state.missing_files.empty()) {
    // An integrity failure, like `check`'s verdict on the same files.
    return DataLossError("applied revision " + state.missing_files.front() +
                             " has no migration file any more; restore the file (see `credvault check`)",
                         "missing_file");
  }
  if (!state.changed.empty()) {
    return DataLossError("applied migration " + state.changed.front()->path +
                             " was edited after it was applied (checksum differs); restore it, or if the "
                             "change is intended record it with `credvault stamp " +
                             state.changed.front()->revision + "` (see `credvault check`)",
                         "checksum");
  }
  return Status::Ok();
}

// Records the environment when nothing is recorded yet, and says so: the
// record decides what is refused on this database from then on.
Status RecordEnvironmentAnnounced(const MigratorOptions& options, db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ReadRecordedEnvironment(conn));
  const std::string environment = EnvironmentName(options.environment);
  CV_RETURN_IF_ERROR(RecordEnvironment(conn, environment));
  if (!recorded) {
    options.log->info(
        "recorded environment '{}' for this database (from --env, CREDVAULT_ENV or the config file's environment; "
        "production when none is given); runs for another environment are refused here from now on. To change it: "
        "`credvault env set NEW --from {}{}`",
        environment, environment, options.environment == Environment::kProduction ? " --yes" : "");
  }
  return Status::Ok();
}

// A section with no statement and no step: what `credvault create` writes
// before anyone edits it.
bool IsEmpty(const Section& section) { return !section.step && section.Statements().empty(); }

// An unedited template would be recorded as applied having done nothing;
// the SQL written into it afterwards would never run (migrate then refuses
// the file as edited after it was applied). So it is refused before
// anything in the plan is applied, rather than applied with a warning.
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

class Applier {
 public:
  Applier(const MigratorOptions& options, db::Connection& conn) : options_(options), conn_(conn) {}

  // `ahead_of` non-empty: recorded as applied out of order, ahead of that
  // pending revision (transactional migrations only, see MigrateOutOfOrder).
  Status Up(const Migration& migration, const std::string& ahead_of = "") {
    options_.log->info("applying {} {}", migration.revision, migration.Description());
    auto start = std::chrono::steady_clock::now();
    ahead_of_ = ahead_of;
    Status status = migration.up.RunsInTransaction() ? InTransaction(migration, migration.up, "up", true)
                                                     : Stepwise(migration, migration.up, "up", true);
    ahead_of_.clear();
    if (status.ok()) options_.log->info("applied {} in {} ms", migration.revision, MillisecondsSince(start));
    return status;
  }

  Status Down(const Migration& migration) {
    options_.log->info("rolling back {} {}", migration.revision, migration.Description());
    auto start = std::chrono::steady_clock::now();
    Status status = migration.down.RunsInTransaction() ? InTransaction(migration, migration.down, "down", false)
                                                       : Stepwise(migration, migration.down, "down", false);
    if (status.ok()) options_.log->info("rolled back {} in {} ms", migration.revision, MillisecondsSince(start));
    return status;
  }

 private:
  db::Params HistoryParams(const Migration& migration, long long ms, const char* state) const {
    return {migration.revision, migration.Description(), migration.checksum, std::to_string(ms), CREDVAULT_VERSION,
            state};
  }

  // The whole section and its history row in one transaction, retried when
  // a DDL statement waited longer than lock_timeout for a table lock.
  Status InTransaction(const Migration& migration, const Section& section, const char* name, bool up) {
    const auto statements = section.Statements();
    for (int attempt = 1;; ++attempt) {
      auto start = std::chrono::steady_clock::now();
      CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn_.Begin());
      CV_RETURN_IF_ERROR(tx->Exec(kTransactionSettings));
      Status failed;
      for (std::size_t i = 0; i < statements.size() && failed.ok(); ++i) {
        Status status = tx->Exec(statements[i].text);
        if (!status.ok()) failed = StatementError(migration, name, i, statements[i], status);
      }
      if (failed.ok()) {
        failed = up ? tx->Exec(kInsertHistorySql, HistoryParams(migration, MillisecondsSince(start), "applied"))
                    : tx->Exec(kDeleteHistorySql, {migration.revision});
      }
      if (failed.ok() && up && !ahead_of_.empty()) {
        failed = tx->Exec(kMarkAppliedAheadSql, {migration.revision, ahead_of_});
      }
      if (failed.ok()) failed = tx->Commit();
      if (failed.ok()) return Status::Ok();
      tx->Abort();
      if (!db::IsLockTimeout(failed) || attempt == kLockTimeoutRetries) return failed;
      options_.log->warn("{}: waited more than 5 s for a table lock (attempt {} of {}); retrying",
                         migration.revision, attempt, kLockTimeoutRetries);
      std::this_thread::sleep_for(std::chrono::seconds(attempt));
    }
  }

  // transaction:false sections and native steps: recorded 'running' first,
  // then 'applied', or 'failed' (which blocks further migrations).
  Status Stepwise(const Migration& migration, const Section& section, const char* name, bool up) {
    auto start = std::chrono::steady_clock::now();
    CV_RETURN_IF_ERROR(WriteDurably(conn_, kInsertHistorySql, HistoryParams(migration, 0, "running")));
    Status failed;
    if (section.step) {
      if (options_.steps == nullptr) return InternalError("no step runner for step " + *section.step);
      failed = options_.steps->Run(*section.step);
      if (!failed.ok()) failed = failed.Annotate(migration.path + ": step " + *section.step);
    } else {
      // Statements that cannot run in a transaction (CREATE INDEX
      // CONCURRENTLY) get their lock_timeout from the session: this
      // connection is a direct one (RefuseSessionWorkThroughPooler).
      CV_RETURN_IF_ERROR(conn_.Exec("SET lock_timeout = '5s'"));
      const auto statements = section.Statements();
      for (std::size_t i = 0; i < statements.size() && failed.ok(); ++i) {
        Status status = conn_.Exec(statements[i].text);
        if (!status.ok()) failed = StatementError(migration, name, i, statements[i], status);
      }
      (void)conn_.Exec("RESET lock_timeout");
    }
    if (!failed.ok()) {
      if (section.step) {
        // A native step is a row job: whatever stopped it, every batch is
        // whole and a rerun resumes it, so it is not recorded as failed.
        (void)WriteDurably(conn_, up ? kDeleteHistorySql : kInsertHistorySql,
                           up ? db::Params{migration.revision} : HistoryParams(migration, 0, "applied"));
        if (failed.code() == StatusCode::kCancelled) return failed;
        return Status(failed.code(),
                      failed.message() + ". Every finished batch of step " + *section.step +
                          " is kept; once the cause is fixed, rerun `credvault " + (up ? "migrate" : "rollback") +
                          "` to resume it",
                      failed.reason());
      }
      (void)WriteDurably(conn_, kInsertHistorySql, HistoryParams(migration, MillisecondsSince(start), "failed"));
      return Status(failed.code(),
                    failed.message() + ". Recorded " + migration.revision +
                        " as failed; it ran outside a transaction, so check what it left behind, then run `credvault "
                        "stamp " + migration.revision + "` once it is complete",
                    failed.reason());
    }
    if (up) return WriteDurably(conn_, kInsertHistorySql, HistoryParams(migration, MillisecondsSince(start), "applied"));
    return WriteDurably(conn_, kDeleteHistorySql, {migration.revision});
  }

  const MigratorOptions& options_;
  db::Connection& conn_;
  std::string ahead_of_;
};

bool Contains(const std::vector<const Migration*>& migrations, const std::string& revision) {
  return std::any_of(migrations.begin(), migrations.end(),
                     [&](const Migration* m) { return m->revision == revision; });
}

StatusOr<std::vector<const Migration*>> PlanUp(const MigrationSet& set, const SchemaState& state,
                                                 const std::string& target) {
  if (!target.empty()) {
    if (set.Find(target) == nullptr) return InvalidArgumentError("no migration file has revision " + target, "usage");
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
                                  "usage");
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

std::string SectionSql(const Migration& m, const Section& section, bool up, const std::string& ahead_of = "") {
  std::string out = "-- " + m.revision + " " + m.Description() + " (" + (up ? "up" : "down") + ")\n";
  std::string bookkeeping =
      up ? "INSERT INTO credvault_schema_history (revision, description, checksum, tool_version, state) VALUES ('" +
               m.revision + "', '" + m.Description() + "', '" + m.checksum + "', '" CREDVAULT_VERSION "', 'applied');\n"
         : "DELETE FROM credvault_schema_history WHERE revision = '" + m.revision + "';\n";
  if (up && !ahead_of.empty()) {
    bookkeeping += "UPDATE credvault_schema_history SET applied_ahead_of = '" + ahead_of + "' WHERE revision = '" +
                   m.revision + "';\n";
  }
  if (section.step) {
    return out + "-- native step '" + *section.step +
           "': credvault runs it in batches (one transaction per batch); it has no SQL form\n" + bookkeeping + "\n";
  }
  std::string body;
  for (const auto& statement : section.Statements()) {
    const std::string& text = statement.text;
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    body += text.substr(first, last - first + 1) + ";\n";
  }
  if (section.RunsInTransaction()) return out + "BEGIN;\nSET LOCAL lock_timeout = '5s';\n" + body + bookkeeping + "COMMIT;\n\n";
  return out + "-- transaction:false: statements run one by one\n" + body + bookkeeping + "\n";
}

// A capacity refusal tells to create a widening migration. Whoever created
// it already but ran a plain `migrate` (which sorts it after the step) must
// not be sent to create a second one: name the pending candidates.
Status WithWideningAlreadyPending(const Status& refusal, const std::vector<const Migration*>& plan) {
  if (refusal.reason() != "capacity") return refusal;
  auto step = std::find_if(plan.begin(), plan.end(), [](const Migration* m) { return m->up.step.has_value(); });
  std::vector<const Migration*> later;
  if (step != plan.end()) {
    std::copy_if(step + 1, plan.end(), std::back_inserter(later),
                 [](const Migration* m) { return m->up.RunsInTransaction(); });
  }
  if (later.empty()) return refusal;
  return Status(refusal.code(),
                refusal.message() + "\nIf pending " + Join(later) +
                    " already widens the column, apply it ahead instead of creating another: credvault migrate "
                    "--out-of-order --to " + later.back()->revision,
                refusal.reason());
}

// A history row left 'running' (or 'failed') by a native step whose process
// died: the step is a re-runnable row job, so instead of asking for a stamp
// the row is reset — `up`: removed, so migrate runs the step again; down:
// back to 'applied', so rollback runs the down step again. Either way the
// step, not a person, brings the data to a consistent state. Called with the
// migration lock held, so no other migrator is running the step.
Status ResumeInterruptedSteps(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set, bool up) {
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  for (const HistoryRow* row : state.unfinished) {
    const Migration* m = set.Find(row->revision);
    if (m == nullptr || !m->up.step || !m->down.step) continue;  // both ways a row job
    options.log->warn("{}: its step was interrupted earlier (recorded as '{}'); native steps are re-runnable, so {} "
                      "runs it again",
                      row->revision, row->state, up ? "migrate" : "rollback");
    CV_RETURN_IF_ERROR(WriteDurably(conn, up ? kDeleteHistorySql : kInsertHistorySql,
                                    up ? db::Params{m->revision}
                                       : db::Params{m->revision, m->Description(), m->checksum, "0", CREDVAULT_VERSION,
                                                    "applied"}));
    CV_RETURN_IF_ERROR(AppendEvent(conn, "step_resumed", m->revision,
                                   EventDetails().AddText("was", row->state).AddText("by", up ? "migrate" : "rollback")));
  }
  return Status::Ok();
}

// Sections that run outside a transaction need a server session of their own
// (their lock_timeout is a session setting, and CREATE INDEX CONCURRENTLY
// cannot share a transaction). Through a pooler in transaction mode no such
// session exists, so they are refused before anything is applied.
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

// What every migrate and rollback does first, with the lock held: the
// bookkeeping tables exist, the environment matches, interrupted native steps
// are set to run again (`up`: migrate; else rollback), and the state is read.
StatusOr<SchemaState> ReadLockedState(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set,
                                      bool up) {
  CV_RETURN_IF_ERROR(EnsureHistoryTables(conn));
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_RETURN_IF_ERROR(ResumeInterruptedSteps(options, conn, set, up));
  return ReadSchemaState(conn, set);
}

Status MigrateLocked(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set,
                     const std::string& target) {
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadLockedState(options, conn, set, true));
  CV_RETURN_IF_ERROR(CheckStartable(state));
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanUp(set, state, target));
  if (plan.empty()) {
    options.log->info("nothing to migrate: the database is at {}", state.current.empty() ? "base" : DescribeCurrent(state, set));
    return Status::Ok();
  }
  CV_RETURN_IF_ERROR(CheckNoEmptyUp(plan));
  CV_RETURN_IF_ERROR(RefuseSessionWorkThroughPooler(conn, plan, true));
  if (Status preflight = PreflightSteps(options, plan, true); !preflight.ok()) {
    return WithWideningAlreadyPending(preflight, plan);
  }
  CV_RETURN_IF_ERROR(RecordEnvironmentAnnounced(options, conn));
  Applier applier(options, conn);
  const std::string from = state.current;
  for (const Migration* m : plan) {
    Status status = applier.Up(*m);
    if (!status.ok()) {
      (void)AppendEvent(conn, "migrate_failed", m->revision,
                        EventDetails().AddText("from", from).AddText("error_code", status.reason()));
      return status;
    }
  }
  return AppendEvent(conn, "migrate", plan.back()->revision,
                     EventDetails().AddText("from", from).AddText("to", plan.back()->revision).AddCount("applied", plan.size()));
}

struct Session {
  std::unique_ptr<MigrationLock> lock;
  std::unique_ptr<db::Connection> conn;
};

StatusOr<Session> Lock(const MigratorOptions& options) {
  const std::string& conninfo = options.direct_conninfo.empty() ? options.conninfo : options.direct_conninfo;
  auto name_target = [&](const Status& status) {
    if (status.code() != StatusCode::kUnavailable) return status;
    return status.Annotate(std::string("cannot connect to ") + (options.direct_conninfo.empty() ? "" : "direct_url ") +
                           db::DescribeConnection(conninfo));
  };
  Session session;
  auto lock = MigrationLock::Acquire(conninfo, options.lock_timeout_seconds, *options.log);
  if (!lock.ok()) return name_target(lock.status());
  session.lock = std::move(lock).value();
  auto conn = db::Connection::Open(conninfo, "credvault migrate");
  if (!conn.ok()) return name_target(conn.status());
  session.conn = std::move(conn).value();
  return session;
}

}  // namespace

StatusOr<SchemaState> ReadSchemaState(db::Connection& conn, const MigrationSet& set) {
  SchemaState state;
  CV_ASSIGN_OR_RETURN(state.history, ReadHistory(conn));
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
  if (!gap.empty()) return state.current + " (applied out of order; pending before it: " + Join(gap) + ")";
  return state.current + (state.current == set.head() ? " (head)" : "");
}

Status Migrate(const MigratorOptions& options, const MigrationSet& set, const std::string& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  return MigrateLocked(options, *session.conn, set, target);
}

namespace {

// The migration `migrate --out-of-order` applies and the pending revisions
// older than it, which it goes ahead of.
struct OutOfOrderPlan {
  const Migration* migration = nullptr;  // nullptr: already applied
  std::vector<const Migration*> ahead_of;
};

StatusOr<OutOfOrderPlan> PlanOutOfOrder(const MigrationSet& set, const SchemaState& state, const std::string& target) {
  const std::string revision = target.empty() ? set.head() : target;
  OutOfOrderPlan plan;
  if (revision.empty()) return plan;
  const Migration* m = set.Find(revision);
  if (m == nullptr) return InvalidArgumentError("no migration file has revision " + revision, "usage");
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

}  // namespace

Status MigrateOutOfOrder(const MigratorOptions& options, const MigrationSet& set, const std::string& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  // As for a plain migrate: an interrupted native step is pending again, not a stamp job.
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadLockedState(options, conn, set, true));
  CV_RETURN_IF_ERROR(CheckStartable(state));
  CV_ASSIGN_OR_RETURN(OutOfOrderPlan plan, PlanOutOfOrder(set, state, target));
  if (plan.migration == nullptr) {
    options.log->info("nothing to migrate: {} is already applied (the database is at {})",
                      target.empty() ? set.head() : target, DescribeCurrent(state, set));
    return Status::Ok();
  }
  const Migration& m = *plan.migration;
  CV_RETURN_IF_ERROR(CheckNoEmptyUp({&m}));
  CV_RETURN_IF_ERROR(RecordEnvironmentAnnounced(options, conn));
  Applier applier(options, conn);
  if (plan.ahead_of.empty()) {
    options.log->info("no older revision is pending: {} is applied in order", m.revision);
    CV_RETURN_IF_ERROR(applier.Up(m));
    return AppendEvent(conn, "migrate", m.revision,
                       EventDetails().AddText("from", state.current).AddText("to", m.revision).AddCount("applied", 1));
  }
  options.log->warn("applying {} out of order, ahead of pending {}; recorded as such, and the next `credvault migrate` "
                    "applies {}",
                    m.revision, Join(plan.ahead_of), Join(plan.ahead_of));
  Status status = applier.Up(m, plan.ahead_of.front()->revision);
  if (!status.ok()) {
    (void)AppendEvent(conn, "migrate_failed", m.revision,
                      EventDetails()
                          .AddText("from", state.current)
                          .AddText("error_code", status.reason())
                          .AddFlag("out_of_order", true));
    return status;
  }
  std::vector<std::string> ahead_of;
  for (const Migration* pending : plan.ahead_of) ahead_of.push_back(pending->revision);
  return AppendEvent(conn, "migrate_out_of_order", m.revision,
                     EventDetails().AddText("from", state.current).AddTextList("ahead_of", ahead_of));
}

StatusOr<std::vector<const Migration*>> PlanRollback(const MigrationSet& set, const SchemaState& state,
                                                     const RollbackTarget& target) {
  return PlanDown(set, state, target);
}

Status Rollback(const MigratorOptions& options, const MigrationSet& set, const RollbackTarget& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadLockedState(options, conn, set, false));
  if (!state.unfinished.empty()) return CheckStartable(state);
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanDown(set, state, target));
  if (plan.empty()) {
    options.log->info("nothing to roll back: the database is at {}", state.current.empty() ? "base" : state.current);
    return Status::Ok();
  }
  CV_RETURN_IF_ERROR(RefuseSessionWorkThroughPooler(conn, plan, false));
  CV_RETURN_IF_ERROR(PreflightSteps(options, plan, false));
  Applier applier(options, conn);
  for (const Migration* m : plan) CV_RETURN_IF_ERROR(applier.Down(*m));
  CV_ASSIGN_OR_RETURN(SchemaState after, ReadSchemaState(conn, set));
  CV_RETURN_IF_ERROR(AppendEvent(conn, "rollback", plan.back()->revision,
                                 EventDetails()
                                     .AddText("from", state.current)
                                     .AddText("to", after.current)
                                     .AddCount("rolled_back", plan.size())));
  options.log->info("rolled back {} migration(s): the database is at {}", plan.size(),
                    after.current.empty() ? "base" : DescribeCurrent(after, set));
  return Status::Ok();
}

StatusOr<std::string> MigrateSql(const MigrationSet& set, const SchemaState& state, const std::string& target,
                                 bool out_of_order) {
  const std::string& from = state.current;
  std::string out = "-- credvault migrate --sql: from " + (from.empty() ? std::string("base") : from) + "\n" +
                    "-- (credvault_schema_history and credvault_events are created first if missing)\n\n";
  if (out_of_order) {
    CV_ASSIGN_OR_RETURN(OutOfOrderPlan plan, PlanOutOfOrder(set, state, target));
    if (plan.migration == nullptr) return out + "-- nothing to apply\n";
    if (!plan.ahead_of.empty()) out += "-- out of order: ahead of pending " + Join(plan.ahead_of) + "\n";
    return out + SectionSql(*plan.migration, plan.migration->up, true,
                            plan.ahead_of.empty() ? "" : plan.ahead_of.front()->revision);
  }
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanUp(set, state, target));
  for (const Migration* m : plan) out += SectionSql(*m, m->up, true);
  if (plan.empty()) out += "-- nothing to apply\n";
  return out;
}

StatusOr<std::string> RollbackSql(const MigrationSet& set, const SchemaState& state, const RollbackTarget& target) {
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanDown(set, state, target));
  std::string out = "-- credvault rollback --sql: from " + (state.current.empty() ? std::string("base") : state.current) + "\n\n";
  for (const Migration* m : plan) out += SectionSql(*m, m->down, false);
  if (plan.empty()) out += "-- nothing to roll back\n";
  return out;
}

Status Stamp(const MigratorOptions& options, const MigrationSet& set, const std::string& revision) {
  if (set.Find(revision) == nullptr) return InvalidArgumentError("no migration file has revision " + revision, "usage");
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_RETURN_IF_ERROR(EnsureHistoryTables(conn));
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  for (const auto& [applied, row] : state.history) {
    // One applied ahead of an older pending revision leaves the gap to fill.
    if (applied > revision && row.state == "applied" && row.applied_ahead_of.empty()) {
      return FailedPreconditionError("revision " + applied + " (newer than " + revision +
                                     ") is applied; use `credvault rollback --to " + revision + "`");
    }
  }
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
  CV_RETURN_IF_ERROR(tx->Exec(kTransactionSettings));
  int stamped = 0;
  for (const Migration& m : set.all()) {
    if (m.revision > revision) break;
    auto it = state.history.find(m.revision);
    if (it != state.history.end() && it->second.state == "applied" && it->second.checksum == m.checksum) continue;
    CV_RETURN_IF_ERROR(tx->Exec(
        "INSERT INTO credvault_schema_history (revision, description, checksum, execution_ms, tool_version, state) "
        "VALUES ($1, $2, $3, NULL, $4, 'applied') ON CONFLICT (revision) DO UPDATE SET checksum = EXCLUDED.checksum, "
        "state = 'applied', tool_version = EXCLUDED.tool_version",
        {m.revision, m.Description(), m.checksum, CREDVAULT_VERSION}));
    ++stamped;
  }
  CV_RETURN_IF_ERROR(AppendEvent(*tx, "stamp", revision, EventDetails().AddCount("recorded", stamped)));
  CV_RETURN_IF_ERROR(tx->Commit());
  CV_RETURN_IF_ERROR(RecordEnvironmentAnnounced(options, conn));
  options.log->info("recorded {} as applied ({} history row(s) written); nothing was run", revision, stamped);
  return Status::Ok();
}

Status StampFromAlembic(const MigratorOptions& options, const MigrationSet& set) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(options.conninfo, "credvault migrate"));
  CV_ASSIGN_OR_RETURN(db::Rows exists, conn->Query("SELECT to_regclass('alembic_version') IS NOT NULL"));
  if (exists.text(0, 0) != "t") {
    return FailedPreconditionError("this database has no alembic_version table: it is not managed by Alembic");
  }
  CV_ASSIGN_OR_RETURN(db::Rows versions, conn->Query("SELECT version_num FROM alembic_version"));
  if (versions.size() != 1) {
    return FailedPreconditionError("alembic_version holds " + std::to_string(versions.size()) +
                                   " rows; credvault adopts a linear history with exactly one head");
  }
  const std::string revision = versions.text(0, 0);
  if (set.Find(revision) == nullptr) {
    return FailedPreconditionError("Alembic revision '" + revision +
                                   "' matches no credvault migration; adopt by hand: compare with `credvault check` "
                                   "and `credvault stamp REV`");
  }
  CV_ASSIGN_OR_RETURN(std::vector<std::string> drift, DetectDrift(*conn, set, revision));
  if (!drift.empty()) {
    std::string report;
    for (const auto& line : drift) report += "\n  " + line;
    return DataLossError("the live schema differs from revision " + revision + "; nothing was recorded:" + report);
  }
  options.log->info("live schema matches Alembic revision {}", revision);
  return Stamp(options, set, revision);
}

Status Reset(const MigratorOptions& options, const MigrationSet& set) {
  if (options.environment == Environment::kProduction) {
    return FailedPreconditionError("reset is never allowed in production (environment: production)", "production");
  }
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ReadRecordedEnvironment(conn));
  const std::string production = EnvironmentName(Environment::kProduction);
  if (recorded && *recorded == production) {
    return FailedPreconditionError("this database is recorded as production; reset is never allowed there",
                                   "production");
  }
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_ASSIGN_OR_RETURN(db::Rows schema, conn.Query("SELECT current_schema()"));
  const std::string name = db::QuoteIdentifier(schema.text(0, 0));
  options.log->warn("dropping schema {} and everything in it", schema.text(0, 0));
  CV_RETURN_IF_ERROR(conn.ExecScript("DROP SCHEMA " + name + " CASCADE; CREATE SCHEMA " + name));
  CV_RETURN_IF_ERROR(MigrateLocked(options, conn, set, ""));
  return AppendEvent(conn, "reset", set.head(), EventDetails());
}

Status CheckEnvironment(db::Connection& conn, Environment run_environment) {
  const std::string environment = EnvironmentName(run_environment);
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ReadRecordedEnvironment(conn));
  if (recorded && *recorded != environment) {
    return FailedPreconditionError(
        "this database was migrated for '" + *recorded + "' but this run is for '" + environment + "'; pass --env " +
            *recorded + " (or set CREDVAULT_ENV) if this is the database you mean. If the database really is " +
            environment + ", change what it records with `credvault env set " + environment + " --from " + *recorded +
            (*recorded == EnvironmentName(Environment::kProduction) ? " --yes" : "") + "`",
        "environment_mismatch");
  }
  return Status::Ok();
}

Status ChangeRecordedEnvironment(const MigratorOptions& options, Environment from_environment,
                                 Environment to_environment, bool production_confirmed) {
  const std::string from = EnvironmentName(from_environment);
  const std::string to = EnvironmentName(to_environment);
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ReadRecordedEnvironment(conn));
  if (!recorded) {
    return FailedPreconditionError("this database records no environment yet; the first `credvault --env " + to +
                                       " migrate` (or stamp) records it",
                                   "no_environment");
  }
  if (*recorded != from) {
    return FailedPreconditionError("this database records '" + *recorded + "', not '" + from +
                                       "'; nothing was changed (give --from " + *recorded + ")",
                                   "environment_mismatch");
  }
  if (from_environment == to_environment) {
    options.log->info("the database already records '{}'; nothing to change", to);
    return Status::Ok();
  }
  if (from_environment == Environment::kProduction && !production_confirmed) {
    return FailedPreconditionError(
        "this database records production: leaving it allows reset, decrypt and rolling back encryption here. If "
        "that is really meant, run `credvault env set " + to + " --from production --yes`; nothing was changed",
        "production");
  }
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
  CV_RETURN_IF_ERROR(tx->Exec("UPDATE credvault_settings SET value = $1 WHERE key = 'environment'", {to}));
  CV_RETURN_IF_ERROR(AppendEvent(*tx, "environment_changed", "",
                                 EventDetails().AddText("from", from).AddText("to", to)));
  CV_RETURN_IF_ERROR(tx->Commit());
  options.log->info("the database now records environment '{}' (was '{}'); recorded in credvault_events", to, from);
  return Status::Ok();
}

Status CheckSchemaAtHead(db::Connection& conn, const MigrationSet& set) {
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  CV_RETURN_IF_ERROR(CheckStartable(state));
  if (state.pending.empty()) return Status::Ok();
  return FailedPreconditionError("the database schema is " + std::to_string(state.pending.size()) +
                                     " migration(s) behind: " + Join(state.pending) + " pending; run `credvault migrate`",
                                 "pending_migrations");
}

}  // namespace credvault::migrate
