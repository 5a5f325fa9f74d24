// credvault rollback: undo applied migrations (default: the last one).
#include <iostream>

#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {
namespace {

// The safety checks of Rollback that depend on the environment, made
// without a key or the migration lock (for --sql): the recorded environment
// must match the run's, and the decrypt step never runs in production.
Status RollbackRefusal(const CommandContext& context, db::Connection& conn, const migrate::MigrationSet& set,
                       const migrate::SchemaState& state, const migrate::RollbackTarget& target) {
  CV_RETURN_IF_ERROR(migrate::CheckEnvironment(conn, context.settings().environment));
  CV_ASSIGN_OR_RETURN(std::vector<const migrate::Migration*> plan, migrate::PlanRollback(set, state, target));
  for (const migrate::Migration* m : plan) {
    if (m->down.step == std::string("decrypt") && context.settings().environment == Environment::kProduction) {
      return FailedPreconditionError(m->revision + " (step decrypt): the decrypt step stores credentials in "
                                     "plaintext and is never run in production",
                                     "production");
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterRollbackCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("rollback", "Undo applied migrations (default: the last one)");
  struct Options { int steps = 0; std::string to; bool sql = false; bool yes = false; };
  auto options = std::make_shared<Options>();
  auto* steps = sub->add_option("--steps", options->steps, "How many migrations to undo")->check(WholeNumber(1, 1000000));
  sub->add_option("--to", options->to, "Undo down to this revision (or 'base')")->excludes(steps);
  sub->add_flag("--sql", options->sql, "Print the SQL that would run; change nothing");
  sub->add_flag("--yes", options->yes, "Do not ask for confirmation");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    migrate::RollbackTarget target;
    target.steps = options->to.empty() ? std::max(options->steps, 1) : 0;
    target.revision = options->to;
    if (options->sql) {
      CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault rollback --sql"));
      CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
      CV_ASSIGN_OR_RETURN(std::string sql, migrate::RollbackSql(set, state, target));
      // A preview of a plan the real rollback refuses must say so, and fail
      // as it would: printing a decrypt plan for production as if it could
      // run misleads whoever reviews it.
      const Status refusal = RollbackRefusal(context, *conn, set, state, target);
      if (!refusal.ok()) sql = "-- credvault rollback would REFUSE this plan: " + refusal.message() + "\n" + sql;
      std::cout << sql << std::flush;
      return refusal;
    }
    const std::string what = options->to.empty() ? std::to_string(target.steps) + " migration(s)"
                                                  : "everything after " + options->to;
    if (!context.Confirm("Roll back " + what + " on " + context.DatabaseTarget() + "?", options->yes)) {
      return FailedPreconditionError("rollback changes the schema and may drop data: confirm on a terminal or pass --yes",
                                     "needs_yes");
    }
    auto runner = MakeStepRunner(context);
    return migrate::Rollback(MigratorOptionsFor(context, runner.get()), set, target);
  });
}

}  // namespace credvault::cli
