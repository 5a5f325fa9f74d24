// credvault migrate: Apply pending migrations (--sql: print them, touch nothing).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterMigrateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("migrate", "Apply pending migrations (--sql: print them, touch nothing)");
  struct Options { std::string to; bool sql = false; int lock_timeout = -1; };
  auto options = std::make_shared<Options>();
  sub->add_option("--to", options->to, "Stop at this revision (default: head)");
  sub->add_flag("--sql", options->sql, "Print the SQL that would run; change nothing");
  sub->add_option("--lock-timeout", options->lock_timeout, "Seconds to wait for another migrator (default 60)")
      ->check(CLI::NonNegativeNumber);
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("migrate"); });
}

}  // namespace credvault::cli
