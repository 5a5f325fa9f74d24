// credvault current: Print the current revision, e.g. 20260215_0002 (head); nothing at base.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterCurrentCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("current", "Print the current revision, e.g. 20260215_0002 (head); nothing at base");
  commands.Add(sub, [](CommandContext&) -> Status { return NotImplementedYet("current"); });
}

}  // namespace credvault::cli
