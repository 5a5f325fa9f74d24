// credvault put: Store credentials for an account from JSON on stdin ({client_id, client_secret, refresh_token}, any subset).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterPutCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("put", "Store credentials for an account from JSON on stdin ({client_id, client_secret, refresh_token}, any subset)");
  struct Options { long long account = 0; };
  auto options = std::make_shared<Options>();
  sub->add_option("--account", options->account, "accounts.id of the account")->required()->check(CLI::PositiveNumber);
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("put"); });
}

}  // namespace credvault::cli
