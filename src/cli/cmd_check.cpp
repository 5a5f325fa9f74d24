// credvault check: Verify checksums of applied migrations and compare the live schema with the migrations (exit 6 on any difference).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterCheckCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("check", "Verify checksums of applied migrations and compare the live schema with the migrations (exit 6 on any difference)");
  commands.Add(sub, [](CommandContext&) -> Status { return NotImplementedYet("check"); });
}

}  // namespace credvault::cli
