// credvault rollback: undo applied migrations (default: the last one).
#include <iostream>

#include "cli/migrator_access.hpp"

namespace credvault::cli {

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
      std::cout << sql << std::flush;
      return Status::Ok();
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
