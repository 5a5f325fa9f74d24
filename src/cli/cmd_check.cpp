// credvault check: verify checksums of applied migrations and compare the live
// schema with what the migrations produce (exit 6 on any difference).
#include <iostream>

#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"
#include "migrate/drift.hpp"

namespace credvault::cli {

void RegisterCheckCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "check", "Verify checksums of applied migrations and compare the live schema with the migrations (exit 6 on any difference)");
  commands.Add(sub, [](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault check"));
    CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
    std::vector<std::string> problems;
    for (const auto* m : state.changed) {
      problems.push_back("checksum: " + m->path + " (" + m->revision + ") was edited after it was applied");
    }
    for (const auto& revision : state.missing_files) {
      problems.push_back("checksum: applied revision " + revision + " has no migration file in " + set.dir());
    }
    for (const auto* row : state.unfinished) problems.push_back("history: " + row->revision + " is " + row->state);
    for (const auto* m : state.out_of_order) {
      problems.push_back("history: " + m->revision + " is not applied but older than " + state.current);
    }
    CV_ASSIGN_OR_RETURN(std::vector<std::string> drift, migrate::DetectDrift(*conn, set, state.applied_in_order));
    for (const auto& line : drift) problems.push_back("drift: " + line);
    for (const auto& line : problems) std::cout << line << "\n";
    std::cout << std::flush;
    if (!problems.empty()) {
      return DataLossError(std::to_string(problems.size()) + " difference(s) between the database and " + set.dir());
    }
    context.log().info("checksums of {} applied migration(s) match and the schema matches {}", state.history.size(),
                       state.current.empty() ? "base" : state.current);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
