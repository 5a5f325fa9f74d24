// credvault stamp: Record a revision as applied without running it.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterStampCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("stamp", "Record a revision as applied without running it");
  struct Options { std::string revision; bool from_alembic = false; };
  auto options = std::make_shared<Options>();
  auto* rev = sub->add_option("REV", options->revision, "Revision id to record as current");
  sub->add_flag("--from-alembic", options->from_alembic, "Adopt an Alembic-managed database (reads alembic_version)")
      ->excludes(rev);
  commands.Add(sub, [options](CommandContext&) -> Status {
    (void)options;
    return NotImplementedYet("stamp"); });
}

}  // namespace credvault::cli
