// credvault current: print the current revision, e.g. "20260215_0002 (head)"; nothing at base.
#include <iostream>

#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterCurrentCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("current", "Print the current revision, e.g. 20260215_0002 (head); nothing at base");
  commands.Add(sub, [](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault current"));
    CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
    const std::string current = migrate::DescribeCurrent(state, set);
    if (!current.empty()) std::cout << current << "\n" << std::flush;
    return Status::Ok();
  });
}

}  // namespace credvault::cli
