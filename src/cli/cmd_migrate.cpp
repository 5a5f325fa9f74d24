// credvault migrate: apply pending migrations (--sql: print them, touch nothing).
#include <iostream>

#include "cli/migrator_access.hpp"

namespace credvault::cli {

void RegisterMigrateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("migrate", "Apply pending migrations (--sql: print them, touch nothing)");
  struct Options { std::string to; bool sql = false; int lock_timeout = -1; };
  auto options = std::make_shared<Options>();
  sub->add_option("--to", options->to, "Stop at this revision (default: head)");
  sub->add_flag("--sql", options->sql, "Print the SQL that would run; change nothing");
  sub->add_option("--lock-timeout", options->lock_timeout, "Seconds to wait for another migrator (default 60)")
      ->check(WholeNumber(0, kMaxWaitSeconds));
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    if (options->sql) {
      // From the database's current revision when one is reachable, else from base.
      std::string from;
      if (auto conn = context.Connect("credvault migrate --sql"); conn.ok()) {
        CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(**conn, set));
        from = state.current;
      } else {
        context.log().info("no database reachable: printing the SQL from base");
      }
      CV_ASSIGN_OR_RETURN(std::string sql, migrate::MigrateSql(set, from, options->to));
      std::cout << sql << std::flush;
      return Status::Ok();
    }
    auto steps = MakeStepRunner(context);
    return migrate::Migrate(MigratorOptionsFor(context, steps.get(), options->lock_timeout), set, options->to);
  });
}

}  // namespace credvault::cli
