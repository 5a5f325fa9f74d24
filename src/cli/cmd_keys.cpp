// credvault keys: the keyring, and for each kid how many values use it.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterKeysCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("keys", "The keyring, and for each kid how many values use it");
  struct Options { bool json = false; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--json", options->json, "Machine-readable output");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
    (void)keyring;
    return NotImplementedYet("keys (per-kid counts)");
  });
}

}  // namespace credvault::cli
