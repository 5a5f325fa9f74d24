// credvault status: Current revision, pending migrations, lock holder, environment, drift summary.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterStatusCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("status", "Current revision, pending migrations, lock holder, environment, drift summary");
  commands.Add(sub, [](CommandContext&) -> Status { return NotImplementedYet("status"); });
}

}  // namespace credvault::cli
