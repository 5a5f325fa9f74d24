#include "migrate/migrator.hpp"

#include "common/status_macros.hpp"
#include "db/connection_target.hpp"
#include "ledger/history.hpp"
#include "migrate/applier.hpp"
#include "migrate/migrator_session.hpp"

namespace credvault::migrate {
namespace {

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
      (void)ledger::AppendEvent(conn, "migrate_failed", m->revision,
                        ledger::EventDetails().AddText("from", from).AddText("error_code", status.reason()));
      return status;
    }
  }
  return ledger::AppendEvent(conn, "migrate", plan.back()->revision,
                     ledger::EventDetails().AddText("from", from).AddText("to", plan.back()->revision).AddCount("applied", plan.size()));
}

}  // namespace

Status Migrate(const MigratorOptions& options, const MigrationSet& set, const std::string& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  return MigrateLocked(options, *session.conn, set, target);
}

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
    return ledger::AppendEvent(conn, "migrate", m.revision,
                       ledger::EventDetails().AddText("from", state.current).AddText("to", m.revision).AddCount("applied", 1));
  }
  options.log->warn("applying {} out of order, ahead of pending {}; recorded as such, and the next `credvault migrate` "
                    "applies {}",
                    m.revision, JoinRevisions(plan.ahead_of), JoinRevisions(plan.ahead_of));
  Status status = applier.Up(m, plan.ahead_of.front()->revision);
  if (!status.ok()) {
    (void)ledger::AppendEvent(conn, "migrate_failed", m.revision,
                      ledger::EventDetails()
                          .AddText("from", state.current)
                          .AddText("error_code", status.reason())
                          .AddFlag("out_of_order", true));
    return status;
  }
  std::vector<std::string> ahead_of;
  for (const Migration* pending : plan.ahead_of) ahead_of.push_back(pending->revision);
  return ledger::AppendEvent(conn, "migrate_out_of_order", m.revision,
                     ledger::EventDetails().AddText("from", state.current).AddTextList("ahead_of", ahead_of));
}

Status Rollback(const MigratorOptions& options, const MigrationSet& set, const RollbackTarget& target) {
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_ASSIGN_OR_RETURN(SchemaState state, ReadLockedState(options, conn, set, false));
  if (!state.unfinished.empty()) return CheckStartable(state);
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanRollback(set, state, target));
  if (plan.empty()) {
    options.log->info("nothing to roll back: the database is at {}", state.current.empty() ? "base" : state.current);
    return Status::Ok();
  }
  CV_RETURN_IF_ERROR(RefuseSessionWorkThroughPooler(conn, plan, false));
  CV_RETURN_IF_ERROR(PreflightSteps(options, plan, false));
  Applier applier(options, conn);
  for (const Migration* m : plan) CV_RETURN_IF_ERROR(applier.Down(*m));
  CV_ASSIGN_OR_RETURN(SchemaState after, ReadSchemaState(conn, set));
  CV_RETURN_IF_ERROR(ledger::AppendEvent(conn, "rollback", plan.back()->revision,
                                 ledger::EventDetails()
                                     .AddText("from", state.current)
                                     .AddText("to", after.current)
                                     .AddCount("rolled_back", plan.size())));
  options.log->info("rolled back {} migration(s): the database is at {}", plan.size(),
                    after.current.empty() ? "base" : DescribeCurrent(after, set));
  return Status::Ok();
}

Status Reset(const MigratorOptions& options, const MigrationSet& set) {
  if (options.environment == Environment::kProduction) {
    return FailedPreconditionError("reset is never allowed in production (environment: production)", "production");
  }
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ledger::ReadRecordedEnvironment(conn));
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
  return ledger::AppendEvent(conn, "reset", set.head(), ledger::EventDetails());
}

}  // namespace credvault::migrate
