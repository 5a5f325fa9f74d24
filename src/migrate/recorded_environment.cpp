#include "migrate/recorded_environment.hpp"

#include "common/status_macros.hpp"
#include "ledger/history.hpp"
#include "migrate/migrator_session.hpp"

namespace credvault::migrate {

Status RecordEnvironmentAnnounced(const MigratorOptions& options, db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ledger::ReadRecordedEnvironment(conn));
  const std::string environment = EnvironmentName(options.environment);
  CV_RETURN_IF_ERROR(ledger::RecordEnvironment(conn, environment));
  if (!recorded) {
    options.log->info(
        "recorded environment '{}' for this database (from --env, CREDVAULT_ENV or the config file's environment; "
        "production when none is given); runs for another environment are refused here from now on. To change it: "
        "`credvault env set NEW --from {}{}`",
        environment, environment, options.environment == Environment::kProduction ? " --yes" : "");
  }
  return Status::Ok();
}

Status CheckEnvironment(db::Connection& conn, Environment run_environment) {
  const std::string environment = EnvironmentName(run_environment);
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ledger::ReadRecordedEnvironment(conn));
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
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ledger::ReadRecordedEnvironment(conn));
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
  CV_RETURN_IF_ERROR(ledger::AppendEvent(*tx, "environment_changed", "",
                                 ledger::EventDetails().AddText("from", from).AddText("to", to)));
  CV_RETURN_IF_ERROR(tx->Commit());
  options.log->info("the database now records environment '{}' (was '{}'); recorded in credvault_events", to, from);
  return Status::Ok();
}

}  // namespace credvault::migrate
