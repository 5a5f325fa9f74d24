// credvault migrate: apply pending migrations (--sql: print them, touch nothing).
#include <iostream>

#include "cli/migrator_access.hpp"
#include "cli/schema_file.hpp"
#include "common/status_macros.hpp"
#include "migrate/lint.hpp"

namespace credvault::cli {
namespace {

// The linter over what this migrate would apply: warnings, or with --strict
// a refusal (exit 5) before anything runs.
Status LintPending(CommandContext& context, const migrate::MigrationSet& set, const std::string& target, bool strict) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault migrate"));
  CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
  std::size_t count = 0;
  for (const auto* m : state.pending) {
    if (!target.empty() && m->revision > target) break;
    CV_ASSIGN_OR_RETURN(auto findings, migrate::LintMigration(*m, conn.get(), LintOptionsFor(context)));
    for (const auto& finding : findings) context.log().warn("lint: {}", finding.Format());
    count += findings.size();
  }
  if (strict && count > 0) {
    return FailedPreconditionError("migrate --strict: " + std::to_string(count) +
                                   " lint finding(s) in the pending migrations; nothing applied");
  }
  return Status::Ok();
}

}  // namespace

void RegisterMigrateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("migrate", "Apply pending migrations (--sql: print them, touch nothing)");
  struct Options { std::string to; bool sql = false; bool out_of_order = false; bool strict = false; int lock_timeout = -1; };
  auto options = std::make_shared<Options>();
  sub->add_option("--to", options->to, "Stop at this revision (default: head)");
  sub->add_flag("--out-of-order", options->out_of_order,
                "Apply only --to REV (default: the newest file) now, ahead of older pending revisions; recorded as "
                "such, and the next plain migrate applies those");
  sub->add_flag("--sql", options->sql, "Print the SQL that would run; change nothing");
  sub->add_flag("--strict", options->strict,
                "Refuse (exit 5, nothing applied) when `credvault lint` has a finding in the pending migrations "
                "(without it, findings are warnings)");
  sub->add_option("--lock-timeout", options->lock_timeout, "Seconds to wait for another migrator (default 60)")
      ->check(WholeNumber(0, kMaxWaitSeconds));
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    if (options->sql) {
      // From what the database holds when it is reachable, else from base.
      migrate::SchemaState state;
      if (auto conn = context.Connect("credvault migrate --sql"); conn.ok()) {
        CV_ASSIGN_OR_RETURN(state, migrate::ReadSchemaState(**conn, set));
      } else {
        context.log().info("no database reachable: printing the SQL from base");
        for (const auto& m : set.all()) state.pending.push_back(&m);
      }
      CV_ASSIGN_OR_RETURN(std::string sql, migrate::MigrateSql(set, state, options->to, options->out_of_order));
      std::cout << sql << std::flush;
      return Status::Ok();
    }
    if (!options->out_of_order) {
      // The linter advises; only --strict makes it a gate. A linter that
      // cannot run (no SELECT on a table, say) does not stop a migration.
      Status lint = LintPending(context, set, options->to, options->strict);
      if (!lint.ok() && (options->strict || lint.code() == StatusCode::kUnavailable)) return lint;
      if (!lint.ok()) context.log().warn("lint skipped: {}", lint.message());
    }
    auto steps = MakeStepRunner(context);
    auto migrator = MigratorOptionsFor(context, steps.get(), options->lock_timeout);
    if (options->out_of_order) return migrate::MigrateOutOfOrder(migrator, set, options->to);
    return migrate::Migrate(migrator, set, options->to);
  });
}

}  // namespace credvault::cli
