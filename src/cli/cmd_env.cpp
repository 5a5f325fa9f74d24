// credvault env set NEW --from OLD: change the environment recorded in the
// database (the record that refuses runs for another environment).
#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterEnvCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* env = app.add_subcommand("env", "The environment recorded in the database");
  env->require_subcommand(1);
  CLI::App* set = env->add_subcommand(
      "set", "Change the recorded environment (--from names the current one; leaving production needs --yes)");
  struct Options { std::string to; std::string from; bool yes = false; };
  auto options = std::make_shared<Options>();
  const CLI::Validator environments = EnvironmentValidator();
  set->add_option("NEW", options->to, "development | staging | production")->required()->check(environments);
  set->add_option("--from", options->from, "The environment the database records now (a check, like a compare-and-set)")
      ->required()
      ->check(environments);
  set->add_flag("--yes", options->yes, "Confirm (required to leave production; else asked on a terminal)");
  commands.Add(set, [options](CommandContext& context) -> Status {
    // Leaving production unlocks reset, decrypt and the decrypt step: only
    // an explicit --yes, never an answer typed at a prompt by habit.
    CV_ASSIGN_OR_RETURN(Environment from, ParseEnvironment(options->from));
    CV_ASSIGN_OR_RETURN(Environment to, ParseEnvironment(options->to));
    bool confirmed = options->yes;
    if (!confirmed && from != Environment::kProduction) {
      confirmed = context.Confirm("Record environment '" + options->to + "' (was '" + options->from + "') in " +
                                      context.DatabaseTarget() + "?",
                                  false);
      if (!confirmed) {
        return FailedPreconditionError("changing the recorded environment needs a terminal confirmation or --yes",
                                       "needs_yes");
      }
    }
    return migrate::ChangeRecordedEnvironment(MigratorOptionsFor(context, nullptr), from, to,
                                              confirmed);
  });
}

}  // namespace credvault::cli
