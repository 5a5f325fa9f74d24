// credvault migrate: apply pending migrations (--sql: print them, touch nothing).
#include <iostream>

#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterMigrateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("migrate", "Apply pending migrations (--sql: print them, touch nothing)");
  struct Options { std::string to; bool sql = false; bool out_of_order = false; int lock_timeout = -1; };
  auto options = std::make_shared<Options>();
  sub->add_option("--to", options->to, "Stop at this revision (default: head)");
  sub->add_flag("--out-of-order", options->out_of_order,
                "Apply only --to REV (default: the newest file) now, ahead of older pending revisions; recorded as "
                "such, and the next plain migrate applies those");
  sub->add_flag("--sql", options->sql, "Print the SQL that would run; change nothing");
  sub->add_option("--lock-timeout", options->lock_timeout, "Seconds to wait for another migrator (default 60)")
      ->check(WholeNumber(0, kMaxWaitSeconds));
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    if (options->sql) {
      // From what the database holds when it is reachable, else from base.
      migrate::SchemaState state;
      if (auto conn = context.Connect("credvault migrate --sql"); conn.ok()) {
        CV_ASSIGN_OR_RETURN(state, migrate::ReadSchemaState(**conn, set));
      } else {
        context.log().info("no database reachable: printing the SQL from base");
        for (const auto& m : set.all()) state.pending.push_back(&m);
      }
      CV_ASSIGN_OR_RETURN(std::string sql, migrate::MigrateSql(set, state, options->to, options->out_of_order));
      std::cout << sql << std::flush;
      return Status::Ok();
    }
    auto steps = MakeStepRunner(context);
    auto migrator = MigratorOptionsFor(context, steps.get(), options->lock_timeout);
    if (options->out_of_order) return migrate::MigrateOutOfOrder(migrator, set, options->to);
    return migrate::Migrate(migrator, set, options->to);
  });
}

}  // namespace credvault::cli
