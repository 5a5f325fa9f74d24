// credvault history: Every revision: applied or pending, when, by whom, checksum state.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterHistoryCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("history", "Every revision: applied or pending, when, by whom, checksum state");
  commands.Add(sub, [](CommandContext&) -> Status { return NotImplementedYet("history"); });
}

}  // namespace credvault::cli
