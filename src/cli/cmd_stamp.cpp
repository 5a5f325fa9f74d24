// credvault stamp: record a revision as applied without running it.
#include "cli/exit_codes.hpp"
#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterStampCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("stamp", "Record a revision as applied without running it");
  struct Options { std::string revision; bool from_alembic = false; };
  auto options = std::make_shared<Options>();
  auto* rev = sub->add_option("REV", options->revision, "Revision id to record as current");
  sub->add_flag("--from-alembic", options->from_alembic, "Adopt an Alembic-managed database (reads alembic_version)")
      ->excludes(rev);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    if (options->revision.empty() && !options->from_alembic) return UsageError("stamp needs REV or --from-alembic");
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    auto migrator = MigratorOptionsFor(context, nullptr);
    if (options->from_alembic) return migrate::StampFromAlembic(migrator, set);
    return migrate::Stamp(migrator, set, options->revision);
  });
}

}  // namespace credvault::cli
