// credvault decrypt: Turn every ciphertext back into plaintext (the data migration's down; not in production).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterDecryptCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("decrypt", "Turn every ciphertext back into plaintext (the data migration's down; not in production)");
  struct Options { bool yes = false; std::size_t batch_size = 0; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--yes", options->yes, "Confirm: credentials will be stored in plaintext");
  sub->add_option("--batch-size", options->batch_size, "Rows per transaction (default 5000)")->check(CLI::Range(1, 1000000));
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("decrypt"); });
}

}  // namespace credvault::cli
