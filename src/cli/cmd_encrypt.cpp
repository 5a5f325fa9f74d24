// credvault encrypt: Encrypt every plaintext credential (the data migration; re-runnable).
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterEncryptCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("encrypt", "Encrypt every plaintext credential (the data migration; re-runnable)");
  struct Options { bool dry_run = false; std::size_t batch_size = 0; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--dry-run", options->dry_run, "Count and check capacity; write nothing");
  sub->add_option("--batch-size", options->batch_size, "Rows per transaction (default 5000)")->check(CLI::Range(1, 1000000));
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("encrypt"); });
}

}  // namespace credvault::cli
