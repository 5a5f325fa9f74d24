// credvault get: Print an account's credentials as JSON (secrets masked unless --reveal).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterGetCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("get", "Print an account's credentials as JSON (secrets masked unless --reveal)");
  struct Options { long long account = 0; bool reveal = false; };
  auto options = std::make_shared<Options>();
  sub->add_option("--account", options->account, "accounts.id of the account")->required()->check(CLI::PositiveNumber);
  sub->add_flag("--reveal", options->reveal, "Print secrets in full");
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("get"); });
}

}  // namespace credvault::cli
