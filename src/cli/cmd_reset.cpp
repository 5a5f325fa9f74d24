// credvault reset: Drop everything and migrate from base (never in production).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterResetCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("reset", "Drop everything and migrate from base (never in production)");
  struct Options { bool yes = false; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--yes", options->yes, "Do not ask for confirmation");
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("reset"); });
}

}  // namespace credvault::cli
