// credvault history: every revision, applied or pending, when, by whom, checksum state.
#include <algorithm>
#include <cstdio>
#include <set>

#include "cli/migrator_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterHistoryCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("history", "Every revision: applied or pending, when, by whom, checksum state");
  commands.Add(sub, [](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, LoadMigrations(context));
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault history"));
    CV_ASSIGN_OR_RETURN(migrate::SchemaState state, migrate::ReadSchemaState(*conn, set));
    std::set<std::string> revisions;
    for (const auto& m : set.all()) revisions.insert(m.revision);
    for (const auto& [revision, row] : state.history) revisions.insert(revision);
    std::printf("%-14s %-12s %-21s %-16s %-9s %s\n", "REVISION", "STATE", "APPLIED (UTC)", "BY", "CHECKSUM", "DESCRIPTION");
    for (const auto& revision : revisions) {
      const migrate::Migration* file = set.Find(revision);
      auto row = state.history.find(revision);
      std::string status = "pending", applied_at = "-", by = "-", checksum = "-";
      if (row != state.history.end()) {
        status = row->second.state;
        applied_at = row->second.applied_at;
        by = row->second.applied_by;
        checksum = file == nullptr ? "missing" : (file->checksum == row->second.checksum ? "ok" : "changed");
      } else if (file != nullptr && std::count(state.out_of_order.begin(), state.out_of_order.end(), file) != 0) {
        status = "out-of-order";
      }
      std::string description = file != nullptr ? file->Description() : row->second.description;
      if (row != state.history.end() && !row->second.applied_ahead_of.empty()) {
        description += " (applied out of order, ahead of " + row->second.applied_ahead_of + ")";
      }
      std::printf("%-14s %-12s %-21s %-16s %-9s %s\n", revision.c_str(), status.c_str(), applied_at.c_str(), by.c_str(),
                  checksum.c_str(), description.c_str());
    }
    std::fflush(stdout);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
