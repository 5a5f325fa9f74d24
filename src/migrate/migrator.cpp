#include "migrate/migrator.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "migrate/drift.hpp"
#include "migrate/migration_lock.hpp"

namespace credvault::migrate {
namespace {

constexpr int kLockTimeoutRetries = 3;

std::string Join(const std::vector<const Migration*>& migrations) {
  std::string out;
  for (const Migration* m : migrations) out += (out.empty() ? "" : ", ") + m->revision;
  return out;
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
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

Status CheckEnvironment(db::Connection& conn, const std::string& environment) {
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ReadRecordedEnvironment(conn));
  if (recorded && *recorded != environment) {
    return FailedPreconditionError("this database was migrated for '" + *recorded + "' but this run is for '" +
                                       environment + "'; pass --env " + *recorded +
                                       " (or set CREDVAULT_ENV) if this is the database you mean",
                                   "environment_mismatch");
  }
  return Status::Ok();
}

class Applier {
 public:
  Applier(const MigratorOptions& options, db::Connection& conn) : options_(options), conn_(conn) {}

  Status Up(const Migration& migration) {
    options_.log->info("applying {} {}", migration.revision, migration.Description());
    auto start = std::chrono::steady_clock::now();
    Status status = migration.up.RunsInTransaction() ? InTransaction(migration, migration.up, "up", true)
                                                     : Stepwise(migration, migration.up, "up", true);
    if (status.ok()) options_.log->info("applied {} in {} ms", migration.revision, MillisecondsSince(start));
    return status;
  }

  Status Down(const Migration& migration) {
    options_.log->info("rolling back {} {}", migration.revision, migration.Description());
    return migration.down.RunsInTransaction() ? InTransaction(migration, migration.down, "down", false)
                                              : Stepwise(migration, migration.down, "down", false);
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
      CV_RETURN_IF_ERROR(tx->Exec("SET LOCAL lock_timeout = '5s'"));
      Status failed;
      for (std::size_t i = 0; i < statements.size() && failed.ok(); ++i) {
        Status status = tx->Exec(statements[i].text);
        if (!status.ok()) failed = StatementError(migration, name, i, statements[i], status);
      }
      if (failed.ok()) {
        failed = up ? tx->Exec(kInsertHistorySql, HistoryParams(migration, MillisecondsSince(start), "applied"))
                    : tx->Exec(kDeleteHistorySql, {migration.revision});
      }
      if (failed.ok()) failed = tx->Commit();
      if (failed.ok()) return Status::Ok();
      tx->Abort();
      if (failed.reason() != "55P03" || attempt == kLockTimeoutRetries) return failed;
      options_.log->warn("{}: waited more than 5 s for a table lock (attempt {} of {}); retrying",
                         migration.revision, attempt, kLockTimeoutRetries);
      std::this_thread::sleep_for(std::chrono::seconds(attempt));
    }
  }

  // transaction:false sections and native steps: recorded 'running' first,
  // then 'applied', or 'failed' (which blocks further migrations).
  Status Stepwise(const Migration& migration, const Section& section, const char* name, bool up) {
    auto start = std::chrono::steady_clock::now();
    CV_RETURN_IF_ERROR(conn_.Exec(kInsertHistorySql, HistoryParams(migration, 0, "running")));
    Status failed;
    if (section.step) {
      if (options_.steps == nullptr) return InternalError("no step runner for step " + *section.step);
      failed = options_.steps->Run(*section.step);
      if (!failed.ok()) failed = failed.Annotate(migration.path + ": step " + *section.step);
    } else {
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
        (void)conn_.Exec(up ? kDeleteHistorySql : kInsertHistorySql,
                         up ? db::Params{migration.revision} : HistoryParams(migration, 0, "applied"));
        if (failed.code() == StatusCode::kCancelled) return failed;
        return Status(failed.code(),
                      failed.message() + ". Every finished batch of step " + *section.step +
                          " is kept; once the cause is fixed, rerun `credvault " + (up ? "migrate" : "rollback") +
                          "` to resume it",
                      failed.reason());
      }
      (void)conn_.Exec(kInsertHistorySql, HistoryParams(migration, MillisecondsSince(start), "failed"));
      return Status(failed.code(),
                    failed.message() + ". Recorded " + migration.revision +
                        " as failed; it ran outside a transaction, so check what it left behind, then run `credvault "
                        "stamp " + migration.revision + "` once it is complete",
                    failed.reason());
    }
    if (up) return conn_.Exec(kInsertHistorySql, HistoryParams(migration, MillisecondsSince(start), "applied"));
    return conn_.Exec(kDeleteHistorySql, {migration.revision});
  }

  const MigratorOptions& options_;
  db::Connection& conn_;
};

StatusOr<std::vector<const Migration*>> PlanUp(const MigrationSet& set, const SchemaState& state,
                                                 const std::string& target) {
  if (!target.empty()) {
    if (set.Find(target) == nullptr) return InvalidArgumentError("no migration file has revision " + target, "usage");
    if (!state.current.empty() && target < state.current) {
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
  std::vector<std::string> applied;
  for (const auto& [revision, row] : state.history) {
    if (row.state == "applied") applied.push_back(revision);
  }
  std::sort(applied.rbegin(), applied.rend());
  std::vector<std::string> chosen;
  if (target.steps > 0) {
    chosen.assign(applied.begin(), applied.begin() + std::min<std::size_t>(applied.size(), target.steps));
  } else {
    if (target.revision != "base" && state.history.count(target.revision) == 0) {
      return InvalidArgumentError("revision " + target.revision + " is not applied; give an applied revision or base",
                                  "usage");
    }
    for (const auto& revision : applied) {
      if (target.revision == "base" || revision > target.revision) chosen.push_back(revision);
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

std::string SectionSql(const Migration& m, const Section& section, bool up) {
  std::string out = "-- " + m.revision + " " + m.Description() + " (" + (up ? "up" : "down") + ")\n";
  const std::string bookkeeping =
      up ? "INSERT INTO credvault_schema_history (revision, description, checksum, tool_version, state) VALUES ('" +
               m.revision + "', '" + m.Description() + "', '" + m.checksum + "', '" CREDVAULT_VERSION "', 'applied');\n"
         : "DELETE FROM credvault_schema_history WHERE revision = '" + m.revision + "';\n";
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
    CV_RETURN_IF_ERROR(conn.Exec(up ? kDeleteHistorySql : kInsertHistorySql,
                                 up ? db::Params{m->revision}
                                    : db::Params{m->revision, m->Description(), m->checksum, "0", CREDVAULT_VERSION,
                                                 "applied"}));
    CV_RETURN_IF_ERROR(AppendEvent(conn, "step_resumed", m->revision,
                                   "{\"was\": " + JsonString(row->state) + ", \"by\": " +
                                       JsonString(up ? "migrate" : "rollback") + "}"));
  }
  return Status::Ok();
}

Status MigrateLocked(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set,
                     const std::string& target) {
  CV_RETURN_IF_ERROR(EnsureHistoryTables(conn));
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_RETURN_IF_ERROR(ResumeInterruptedSteps(options, conn, set, true));
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  CV_RETURN_IF_ERROR(CheckStartable(state));
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanUp(set, state, target));
  if (plan.empty()) {
    options.log->info("nothing to migrate: the database is at {}", state.current.empty() ? "base" : DescribeCurrent(state, set));
    return Status::Ok();
  }
  CV_RETURN_IF_ERROR(PreflightSteps(options, plan, true));
  CV_RETURN_IF_ERROR(RecordEnvironment(conn, options.environment));
  Applier applier(options, conn);
  const std::string from = state.current;
  for (const Migration* m : plan) {
    Status status = applier.Up(*m);
    if (!status.ok()) {
      (void)AppendEvent(conn, "migrate_failed", m->revision,
                        "{\"from\": " + JsonString(from) + ", \"error_code\": " + JsonString(status.reason()) + "}");
      return status;
    }
  }
  return AppendEvent(conn, "migrate", plan.back()->revision,
                     "{\"from\": " + JsonString(from) + ", \"to\": " + JsonString(plan.back()->revision) +
                         ", \"applied\": " + std::to_string(plan.size()) + "}");
}

struct Session {
  std::unique_ptr<MigrationLock> lock;
  std::unique_ptr<db::Connection> conn;
};

StatusOr<Session> Lock(const MigratorOptions& options) {
  Session session;
  CV_ASSIGN_OR_RETURN(session.lock,
                      MigrationLock::Acquire(options.conninfo, options.lock_timeout_seconds, *options.log));
  CV_ASSIGN_OR_RETURN(session.conn, db::Connection::Open(options.conninfo, "credvault migrate"));
  // History rows must survive a server crash even where the server commits
  // asynchronously by default: a lost 'applied' row would run a migration twice.
  CV_RETURN_IF_ERROR(session.conn->Exec("SET synchronous_commit TO on"));
  return session;
}

}  // namespace

StatusOr<SchemaState> ReadSchemaState(db::Connection& conn, const MigrationSet& set) {
  SchemaState state;
  CV_ASSIGN_OR_RETURN(state.history, ReadHistory(conn));
  for (const auto& [revision, row] : state.history) {
    if (row.state == "applied") state.current = std::max(state.current, revision);
    if (row.state != "applied") state.unfinished.push_back(&row);
    if (set.Find(revision) == nullptr) state.missing_files.push_back(revision);
  }
  for (const Migration& m : set.all()) {
    auto it = state.history.find(m.revision);
    if (it != state.history.end()) {
      if (it->second.checksum != m.checksum) state.changed.push_back(&m);
    } else if (m.revision < state.current) {
      state.out_of_order.push_back(&m);
    } else {
      state.pending.push_back(&m);
    }
  }
  return state;
}

std::string DescribeCurrent(const SchemaState& state, const MigrationSet& set) {
  if (state.current.empty()) return "";
  return state.current + (state.current == set.head() ? " (head)" : "");
}

Status Migrate(const MigratorOptions& options, const MigrationSet& set, const std::string& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  return MigrateLocked(options, *session.conn, set, target);
}

Status Rollback(const MigratorOptions& options, const MigrationSet& set, const RollbackTarget& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_RETURN_IF_ERROR(EnsureHistoryTables(conn));
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_RETURN_IF_ERROR(ResumeInterruptedSteps(options, conn, set, false));
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  if (!state.unfinished.empty()) return CheckStartable(state);
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanDown(set, state, target));
  if (plan.empty()) {
    options.log->info("nothing to roll back: the database is at {}", state.current.empty() ? "base" : state.current);
    return Status::Ok();
  }
  CV_RETURN_IF_ERROR(PreflightSteps(options, plan, false));
  Applier applier(options, conn);
  for (const Migration* m : plan) CV_RETURN_IF_ERROR(applier.Down(*m));
  CV_ASSIGN_OR_RETURN(SchemaState after, ReadSchemaState(conn, set));
  return AppendEvent(conn, "rollback", plan.back()->revision,
                     "{\"from\": " + JsonString(state.current) + ", \"to\": " + JsonString(after.current) +
                         ", \"rolled_back\": " + std::to_string(plan.size()) + "}");
}

StatusOr<std::string> MigrateSql(const MigrationSet& set, const std::string& from, const std::string& target) {
  SchemaState state;
  state.current = from;
  for (const Migration& m : set.all()) {
    if (m.revision > from) state.pending.push_back(&m);
  }
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanUp(set, state, target));
  std::string out = "-- credvault migrate --sql: from " + (from.empty() ? std::string("base") : from) + "\n" +
                    "-- (credvault_schema_history and credvault_events are created first if missing)\n\n";
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
    if (applied > revision && row.state == "applied") {
      return FailedPreconditionError("revision " + applied + " (newer than " + revision +
                                     ") is applied; use `credvault rollback --to " + revision + "`");
    }
  }
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
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
  CV_RETURN_IF_ERROR(AppendEvent(*tx, "stamp", revision, "{\"recorded\": " + std::to_string(stamped) + "}"));
  CV_RETURN_IF_ERROR(tx->Commit());
  CV_RETURN_IF_ERROR(RecordEnvironment(conn, options.environment));
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
  if (options.environment == "production") {
    return FailedPreconditionError("reset is never allowed in production (environment: production)", "production");
  }
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ReadRecordedEnvironment(conn));
  if (recorded && *recorded == "production") {
    return FailedPreconditionError("this database is recorded as production; reset is never allowed there",
                                   "production");
  }
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_ASSIGN_OR_RETURN(db::Rows schema, conn.Query("SELECT current_schema()"));
  const std::string name = db::QuoteIdentifier(schema.text(0, 0));
  options.log->warn("dropping schema {} and everything in it", schema.text(0, 0));
  CV_RETURN_IF_ERROR(conn.ExecScript("DROP SCHEMA " + name + " CASCADE; CREATE SCHEMA " + name));
  CV_RETURN_IF_ERROR(MigrateLocked(options, conn, set, ""));
  return AppendEvent(conn, "reset", set.head(), "{}");
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
