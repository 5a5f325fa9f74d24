#include "migrate/applier.hpp"

#include <chrono>
#include <thread>

#include "common/status_macros.hpp"
#include "db/sqlstate.hpp"
#include "ledger/history.hpp"

namespace credvault::migrate {

db::Params HistoryRowParams(const Migration& migration, long long execution_ms, const char* state) {
  return {migration.revision, migration.Description(), migration.checksum, std::to_string(execution_ms),
          CREDVAULT_VERSION, state};
}

namespace {

constexpr int kLockTimeoutRetries = 3;

long long MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

Status StatementError(const Migration& migration, const char* section, std::size_t index, const SqlStatement& statement,
                      const Status& error) {
  return Status(error.code(),
                migration.path + ": " + section + " statement " + std::to_string(index + 1) + " (line " +
                    std::to_string(statement.line) + ") failed: " + error.message(),
                error.reason());
}

}  // namespace

Status WriteDurably(db::Connection& conn, const char* sql, const db::Params& params) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
  CV_RETURN_IF_ERROR(tx->Exec(kTransactionSettings));
  CV_RETURN_IF_ERROR(tx->Exec(sql, params));
  return tx->Commit();
}

Status Applier::Up(const Migration& migration, const std::string& ahead_of) {
  options_.log->info("applying {} {}", migration.revision, migration.Description());
  auto start = std::chrono::steady_clock::now();
  ahead_of_ = ahead_of;
  Status status = migration.up.RunsInTransaction() ? InTransaction(migration, migration.up, "up", true)
                                                   : Stepwise(migration, migration.up, "up", true);
  ahead_of_.clear();
  if (status.ok()) options_.log->info("applied {} in {} ms", migration.revision, MillisecondsSince(start));
  return status;
}

Status Applier::Down(const Migration& migration) {
  options_.log->info("rolling back {} {}", migration.revision, migration.Description());
  auto start = std::chrono::steady_clock::now();
  Status status = migration.down.RunsInTransaction() ? InTransaction(migration, migration.down, "down", false)
                                                     : Stepwise(migration, migration.down, "down", false);
  if (status.ok()) options_.log->info("rolled back {} in {} ms", migration.revision, MillisecondsSince(start));
  return status;
}

Status Applier::InTransaction(const Migration& migration, const Section& section, const char* name, bool up) {
  const auto statements = section.Statements();
  for (int attempt = 1;; ++attempt) {
    auto start = std::chrono::steady_clock::now();
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn_.Begin());
    CV_RETURN_IF_ERROR(tx->Exec(kTransactionSettings));
    Status failed;
    for (std::size_t i = 0; i < statements.size() && failed.ok(); ++i) {
      Status status = tx->Exec(statements[i].text);
      if (!status.ok()) failed = StatementError(migration, name, i, statements[i], status);
    }
    if (failed.ok()) {
      failed = up ? tx->Exec(ledger::kInsertHistorySql, HistoryRowParams(migration, MillisecondsSince(start), "applied"))
                  : tx->Exec(ledger::kDeleteHistorySql, {migration.revision});
    }
    if (failed.ok() && up && !ahead_of_.empty()) {
      failed = tx->Exec(ledger::kMarkAppliedAheadSql, {migration.revision, ahead_of_});
    }
    if (failed.ok()) failed = tx->Commit();
    if (failed.ok()) return Status::Ok();
    tx->Abort();
    if (!db::IsLockTimeout(failed) || attempt == kLockTimeoutRetries) return failed;
    options_.log->warn("{}: waited more than 5 s for a table lock (attempt {} of {}); retrying",
                       migration.revision, attempt, kLockTimeoutRetries);
    std::this_thread::sleep_for(std::chrono::seconds(attempt));
  }
}

Status Applier::Stepwise(const Migration& migration, const Section& section, const char* name, bool up) {
  auto start = std::chrono::steady_clock::now();
  CV_RETURN_IF_ERROR(WriteDurably(conn_, ledger::kInsertHistorySql, HistoryRowParams(migration, 0, "running")));
  Status failed;
  if (section.step) {
    if (options_.steps == nullptr) return InternalError("no step runner for step " + *section.step);
    failed = options_.steps->Run(*section.step);
    if (!failed.ok()) failed = failed.Annotate(migration.path + ": step " + *section.step);
  } else {
    // Statements that cannot run in a transaction (CREATE INDEX
    // CONCURRENTLY) get their lock_timeout from the session: this
    // connection is a direct one (RefuseSessionWorkThroughPooler).
    CV_RETURN_IF_ERROR(conn_.Exec("SET lock_timeout = '5s'"));
    const auto statements = section.Statements();
    for (std::size_t i = 0; i < statements.size() && failed.ok(); ++i) {
      Status status = conn_.Exec(statements[i].text);
      if (!status.ok()) failed = StatementError(migration, name, i, statements[i], status);
    }
    (void)conn_.Exec("RESET lock_timeout");
  }
  if (!failed.ok()) {
    if (section.step) {
      // A native step is a row job: whatever stopped it, every batch is
      // whole and a rerun resumes it, so it is not recorded as failed.
      (void)WriteDurably(conn_, up ? ledger::kDeleteHistorySql : ledger::kInsertHistorySql,
                         up ? db::Params{migration.revision} : HistoryRowParams(migration, 0, "applied"));
      if (failed.code() == StatusCode::kCancelled) return failed;
      return Status(failed.code(),
                    failed.message() + ". Every finished batch of step " + *section.step +
                        " is kept; once the cause is fixed, rerun `credvault " + (up ? "migrate" : "rollback") +
                        "` to resume it",
                    failed.reason());
    }
    (void)WriteDurably(conn_, ledger::kInsertHistorySql, HistoryRowParams(migration, MillisecondsSince(start), "failed"));
    return Status(failed.code(),
                  failed.message() + ". Recorded " + migration.revision +
                      " as failed; it ran outside a transaction, so check what it left behind, then run `credvault "
                      "stamp " + migration.revision + "` once it is complete",
                  failed.reason());
  }
  if (up) return WriteDurably(conn_, ledger::kInsertHistorySql, HistoryRowParams(migration, MillisecondsSince(start), "applied"));
  return WriteDurably(conn_, ledger::kDeleteHistorySql, {migration.revision});
}

}  // namespace credvault::migrate
