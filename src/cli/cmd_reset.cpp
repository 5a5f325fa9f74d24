// credvault reset: drop everything and migrate from base (never in production).
#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterResetCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("reset", "Drop everything and migrate from base (never in production)");
  struct Options { bool yes = false; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--yes", options->yes, "Do not ask for confirmation");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    if (context.settings().environment == Environment::kProduction) {
      return FailedPreconditionError("reset is never allowed in production (--env / CREDVAULT_ENV is production)",
                                     "production");
    }
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    if (!context.Confirm("Drop EVERYTHING in " + context.DatabaseTarget() + " and migrate from base?",
                         options->yes)) {
      return FailedPreconditionError("reset drops all data: confirm on a terminal or pass --yes", "needs_yes");
    }
    auto steps = MakeStepRunner(context);
    return migrate::Reset(MigratorOptionsFor(context, steps.get()), set);
  });
}

}  // namespace credvault::cli
