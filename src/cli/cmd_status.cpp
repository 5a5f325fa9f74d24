// credvault status: current revision, pending migrations, lock holder, environment, drift summary.
#include <iostream>

#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"
#include "migrate/drift.hpp"
#include "migrate/migration_lock.hpp"

namespace credvault::cli {

void RegisterStatusCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("status", "Current revision, pending migrations, lock holder, environment, drift summary");
  commands.Add(sub, [](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault status"));
    CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
    CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ledger::ReadRecordedEnvironment(*conn));
    CV_ASSIGN_OR_RETURN(std::string holder, migrate::MigrationLock::DescribeHolder(*conn));
    CV_ASSIGN_OR_RETURN(std::vector<std::string> drift, migrate::DetectDrift(*conn, set, state.applied_in_order));

    std::cout << "database:     " << context.DatabaseTarget() << "\n";
    std::cout << "current:      " << (state.current.empty() ? "base" : migrate::DescribeCurrent(state, set)) << "\n";
    std::cout << "head:         " << (set.head().empty() ? "(no migrations)" : set.head()) << "\n";
    std::cout << "pending:      " << state.pending.size();
    for (const auto* m : state.pending) std::cout << "  " << m->revision;
    std::cout << "\n";
    for (const auto* m : state.out_of_order) {
      std::cout << "out of order: " << m->revision << " is not applied but older than " << state.current
                << " (migrate refuses until resolved)\n";
    }
    for (const auto* row : state.applied_ahead) {
      std::cout << "applied ahead: " << row->revision << " was applied out of order, ahead of " << row->applied_ahead_of
                << "\n";
    }
    for (const auto* row : state.unfinished) std::cout << "unfinished:   " << row->revision << " (" << row->state << ")\n";
    for (const auto& revision : state.missing_files) std::cout << "missing file: " << revision << " is applied but its file is gone\n";
    for (const auto* m : state.changed) std::cout << "changed:      " << m->path << " differs from what was applied\n";
    std::cout << "lock:         " << (holder.empty() ? "free" : "held by " + holder) << "\n";
    std::cout << "environment:  " << EnvironmentName(context.settings().environment) << " (database recorded: "
              << recorded.value_or("nothing yet") << ")\n";
    std::cout << "drift:        " << (drift.empty() ? "none" : std::to_string(drift.size()) + " difference(s); see `credvault check`")
              << "\n"
              << std::flush;
    return Status::Ok();
  });
}

}  // namespace credvault::cli
