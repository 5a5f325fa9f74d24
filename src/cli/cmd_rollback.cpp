// credvault rollback: Undo applied migrations (default: the last one).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterRollbackCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("rollback", "Undo applied migrations (default: the last one)");
  struct Options { int steps = 0; std::string to; bool sql = false; bool yes = false; };
  auto options = std::make_shared<Options>();
  auto* steps = sub->add_option("--steps", options->steps, "How many migrations to undo")->check(CLI::PositiveNumber);
  sub->add_option("--to", options->to, "Undo down to this revision (or 'base')")->excludes(steps);
  sub->add_flag("--sql", options->sql, "Print the SQL that would run; change nothing");
  sub->add_flag("--yes", options->yes, "Do not ask for confirmation");
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("rollback"); });
}

}  // namespace credvault::cli
