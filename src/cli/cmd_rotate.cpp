// credvault rotate: Re-encrypt every value not under the primary key.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterRotateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("rotate", "Re-encrypt every value not under the primary key");
  struct Options { bool dry_run = false; std::size_t batch_size = 0; unsigned workers = 0; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--dry-run", options->dry_run, "Count values per kid; write nothing");
  sub->add_option("--batch-size", options->batch_size, "Rows per transaction (default 5000)")->check(CLI::Range(1, 1000000));
  sub->add_option("--workers", options->workers, "Crypto threads (default: one per core)")->check(CLI::Range(1, 256));
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("rotate"); });
}

}  // namespace credvault::cli
