// credvault check: verify checksums of applied migrations and compare the live
// schema with what the migrations produce (exit 6 on any difference). With
// --schema FILE, also with the declarative schema file.
#include <iostream>

#include "cli/migrator_access.hpp"
#include "cli/schema_file.hpp"
#include "common/status_macros.hpp"
#include "migrate/autogenerate.hpp"
#include "migrate/drift.hpp"

namespace credvault::cli {

void RegisterCheckCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "check", "Verify checksums of applied migrations and compare the live schema with the migrations (exit 6 on any difference)");
  auto schema = std::make_shared<std::string>();
  sub->add_option("--schema", *schema,
                  "Also compare the live schema with this declarative schema file (e.g. schema.sql), built in a "
                  "scratch database (--dev-url; default a temporary one); each difference is a line 'schema: ...'");
  commands.Add(sub, [schema](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    std::string schema_sql;
    if (!schema->empty()) {
      CV_ASSIGN_OR_RETURN(schema_sql, ReadSchemaFile(*schema));
      CV_RETURN_IF_ERROR(migrate::ValidateSchemaFile(*schema, schema_sql));
    }
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault check"));
    // The schema file is built in a scratch database, never in this one;
    // without one, nothing is read or run (exit 5).
    std::unique_ptr<migrate::DevDatabase> dev;
    std::unique_ptr<db::Connection> dev_conn;
    if (!schema->empty()) {
      CV_ASSIGN_OR_RETURN(dev, OpenDevDatabase(context, "credvault check --schema"));
      CV_ASSIGN_OR_RETURN(dev_conn, dev->Connect());
    }
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
    // Replaying the migrations without every applied file would compare the
    // database with a schema no one applied (or fail on the first migration
    // that builds on the missing one): the missing file is the finding.
    if (state.missing_files.empty()) {
      CV_ASSIGN_OR_RETURN(std::vector<std::string> drift, migrate::DetectDrift(*conn, set, state.applied_in_order));
      for (const auto& line : drift) problems.push_back("drift: " + line);
    } else {
      problems.push_back("drift: not checked: the applied migrations cannot be replayed without their files");
    }
    if (!schema->empty()) {
      CV_ASSIGN_OR_RETURN(std::vector<std::string> differences,
                          migrate::CompareWithSchemaFile(*conn, *dev_conn, *schema, schema_sql));
      for (const auto& line : differences) problems.push_back("schema: " + line);
    }
    for (const auto& line : problems) std::cout << line << "\n";
    std::cout << std::flush;
    if (!problems.empty()) {
      return DataLossError(std::to_string(problems.size()) + " difference(s) between the database and " + set.dir() +
                           (schema->empty() ? std::string() : " or " + *schema));
    }
    context.log().info("checksums of {} applied migration(s) match and the schema matches {}{}", state.history.size(),
                       state.current.empty() ? "base" : state.current,
                       schema->empty() ? std::string() : " and " + *schema);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
