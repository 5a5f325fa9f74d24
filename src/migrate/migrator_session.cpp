#include "migrate/migrator_session.hpp"

#include "common/status_macros.hpp"
#include "db/connection_target.hpp"
#include "ledger/history.hpp"
#include "migrate/applier.hpp"
#include "migrate/recorded_environment.hpp"

namespace credvault::migrate {
namespace {

// A history row left 'running' (or 'failed') by a native step whose process
// died: the step is a re-runnable row job, so instead of asking for a stamp
// the row is reset — `up`: removed, so migrate runs the step again; down:
// back to 'applied', so rollback runs the down step again. Either way the
// step, not a person, brings the data to a consistent state. Called with the
// migration lock held, so no other migrator is running the step.
Status ResumeInterruptedSteps(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set, bool up) {
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadSchemaState(conn, set));
  for (const ledger::HistoryRow* row : state.unfinished) {
    const Migration* m = set.Find(row->revision);
    if (m == nullptr || !m->up.step || !m->down.step) continue;  // both ways a row job
    options.log->warn("{}: its step was interrupted earlier (recorded as '{}'); native steps are re-runnable, so {} "
                      "runs it again",
                      row->revision, row->state, up ? "migrate" : "rollback");
    CV_RETURN_IF_ERROR(WriteDurably(conn, up ? ledger::kDeleteHistorySql : ledger::kInsertHistorySql,
                                    up ? db::Params{m->revision} : HistoryRowParams(*m, 0, "applied")));
    CV_RETURN_IF_ERROR(ledger::AppendEvent(conn, "step_resumed", m->revision,
                                   ledger::EventDetails().AddText("was", row->state).AddText("by", up ? "migrate" : "rollback")));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<SchemaState> ReadLockedState(const MigratorOptions& options, db::Connection& conn, const MigrationSet& set,
                                      bool up) {
  CV_RETURN_IF_ERROR(ledger::EnsureHistoryTables(conn));
  CV_RETURN_IF_ERROR(CheckEnvironment(conn, options.environment));
  CV_RETURN_IF_ERROR(ResumeInterruptedSteps(options, conn, set, up));
  return ReadSchemaState(conn, set);
}

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

}  // namespace credvault::migrate
