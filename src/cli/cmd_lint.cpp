// credvault lint [FILE...]: flag migrations that lose data, fail on the data
// there is, or block writes for long (exit 5 on any finding).
#include <iostream>

#include "cli/migrator_access.hpp"
#include "cli/schema_file.hpp"
#include "common/status_macros.hpp"
#include "migrate/lint.hpp"

namespace credvault::cli {

void RegisterLintCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "lint", "Check migrations for data loss, failures on the data there is and long locks (exit 5 on any finding)");
  auto files = std::make_shared<std::vector<std::string>>();
  sub->add_option("FILE", *files, "Migration files to check (default: the pending migrations)");
  commands.Add(sub, [files](CommandContext& context) -> Status {
    std::vector<migrate::Migration> migrations;
    std::unique_ptr<db::Connection> conn;
    if (files->empty()) {
      CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
      CV_ASSIGN_OR_RETURN(conn, context.Connect("credvault lint"));
      CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
      for (const auto* m : state.out_of_order) migrations.push_back(*m);
      for (const auto* m : state.pending) migrations.push_back(*m);
    } else {
      for (const std::string& path : *files) {
        CV_ASSIGN_OR_RETURN(migrate::Migration migration, migrate::ReadMigrationFile(path));
        migrations.push_back(std::move(migration));
      }
      // The checks that need data read the configured database when it answers.
      auto connected = context.Connect("credvault lint");
      if (connected.ok()) {
        conn = std::move(*connected);
      } else {
        context.log().warn("lint: {}; checking the text only", connected.status().message());
      }
    }
    std::size_t count = 0;
    for (const migrate::Migration& migration : migrations) {
      CV_ASSIGN_OR_RETURN(auto findings, migrate::LintMigration(migration, conn.get(), LintOptionsFor(context)));
      for (const auto& finding : findings) std::cout << finding.Format() << "\n";
      count += findings.size();
    }
    std::cout << std::flush;
    if (count > 0) {
      return FailedPreconditionError(std::to_string(count) + " lint finding(s) in " + std::to_string(migrations.size()) +
                                     " migration(s)");
    }
    context.log().info("lint: {} migration(s), no finding", migrations.size());
    return Status::Ok();
  });
}

}  // namespace credvault::cli
