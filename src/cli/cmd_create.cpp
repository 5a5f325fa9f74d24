// credvault create: Write a new migration file with the next revision id.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterCreateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("create", "Write a new migration file with the next revision id");
  struct Options { std::string message; std::string step; };
  auto options = std::make_shared<Options>();
  sub->add_option("MESSAGE", options->message, "What the migration does (becomes the file's slug)")->required();
  sub->add_option("--step", options->step, "A native data step (encrypt | decrypt) instead of SQL");
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("create"); });
}

}  // namespace credvault::cli
