#include "migrate/migration_sql.hpp"

#include "common/status_macros.hpp"

namespace credvault::migrate {
namespace {

// One section of `m` as text to print: its statements (framed by BEGIN/COMMIT
// when transactional) and its history bookkeeping, the printed form of what
// Applier writes with ledger::kInsertHistorySql / ledger::kDeleteHistorySql /
// ledger::kMarkAppliedAheadSql. The values are spelled out: whoever runs the printed
// SQL by hand has no parameters to bind.
std::string SectionSql(const Migration& m, const Section& section, bool up, const std::string& ahead_of = "") {
  std::string out = "-- " + m.revision + " " + m.Description() + " (" + (up ? "up" : "down") + ")\n";
  std::string bookkeeping =
      up ? "INSERT INTO credvault_schema_history (revision, description, checksum, tool_version, state) VALUES ('" +
               m.revision + "', '" + m.Description() + "', '" + m.checksum + "', '" CREDVAULT_VERSION "', 'applied');\n"
         : "DELETE FROM credvault_schema_history WHERE revision = '" + m.revision + "';\n";
  if (up && !ahead_of.empty()) {
    bookkeeping += "UPDATE credvault_schema_history SET applied_ahead_of = '" + ahead_of + "' WHERE revision = '" +
                   m.revision + "';\n";
  }
  if (section.step) {
    return out + "-- native step '" + *section.step +
           "': credvault runs it in batches (one transaction per batch); it has no SQL form\n" + bookkeeping + "\n";
  }
  std::string body;
  for (const auto& statement : section.Statements()) {
    const std::string& text = statement.text;
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    body += text.substr(first, last - first + 1) + ";\n";
  }
  if (section.RunsInTransaction()) return out + "BEGIN;\nSET LOCAL lock_timeout = '5s';\n" + body + bookkeeping + "COMMIT;\n\n";
  return out + "-- transaction:false: statements run one by one\n" + body + bookkeeping + "\n";
}

}  // namespace

StatusOr<std::string> MigrateSql(const MigrationSet& set, const SchemaState& state, const std::string& target,
                                 bool out_of_order) {
  const std::string& from = state.current;
  std::string out = "-- credvault migrate --sql: from " + (from.empty() ? std::string("base") : from) + "\n" +
                    "-- (credvault_schema_history and credvault_events are created first if missing)\n\n";
  if (out_of_order) {
    CV_ASSIGN_OR_RETURN(OutOfOrderPlan plan, PlanOutOfOrder(set, state, target));
    if (plan.migration == nullptr) return out + "-- nothing to apply\n";
    if (!plan.ahead_of.empty()) out += "-- out of order: ahead of pending " + JoinRevisions(plan.ahead_of) + "\n";
    return out + SectionSql(*plan.migration, plan.migration->up, true,
                            plan.ahead_of.empty() ? "" : plan.ahead_of.front()->revision);
  }
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanUp(set, state, target));
  for (const Migration* m : plan) out += SectionSql(*m, m->up, true);
  if (plan.empty()) out += "-- nothing to apply\n";
  return out;
}

StatusOr<std::string> RollbackSql(const MigrationSet& set, const SchemaState& state, const RollbackTarget& target) {
  CV_ASSIGN_OR_RETURN(std::vector<const Migration*> plan, PlanRollback(set, state, target));
  std::string out = "-- credvault rollback --sql: from " + (state.current.empty() ? std::string("base") : state.current) + "\n\n";
  for (const Migration* m : plan) out += SectionSql(*m, m->down, false);
  if (plan.empty()) out += "-- nothing to roll back\n";
  return out;
}

}  // namespace credvault::migrate
