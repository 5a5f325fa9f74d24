// credvault verify: Decrypt every value; counts per kid; exit 6 naming bad row ids.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterVerifyCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("verify", "Decrypt every value; counts per kid; exit 6 naming bad row ids");
  struct Options { bool json = false; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--json", options->json, "Machine-readable output");
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("verify"); });
}

}  // namespace credvault::cli
