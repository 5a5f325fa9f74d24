#include "migrate/adopt.hpp"

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "ledger/history.hpp"
#include "migrate/applier.hpp"
#include "migrate/drift.hpp"
#include "migrate/migrator_session.hpp"
#include "migrate/recorded_environment.hpp"

namespace credvault::migrate {

Status Stamp(const MigratorOptions& options, const MigrationSet& set, const std::string& revision) {
  if (set.Find(revision) == nullptr) return InvalidArgumentError("no migration file has revision " + revision, reason::kUsage);
  CV_ASSIGN_OR_RETURN(Session session, Lock(options));
  db::Connection& conn = *session.conn;
  CV_RETURN_IF_ERROR(ledger::EnsureHistoryTables(conn));
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
    CV_RETURN_IF_ERROR(tx->Exec(ledger::kStampHistorySql, {m.revision, m.Description(), m.checksum, CREDVAULT_VERSION}));
    ++stamped;
  }
  CV_RETURN_IF_ERROR(ledger::AppendEvent(*tx, "stamp", revision, ledger::EventDetails().AddCount("recorded", stamped)));
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

}  // namespace credvault::migrate
