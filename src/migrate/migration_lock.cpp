#include "migrate/migration_lock.hpp"

#include <chrono>
#include <thread>

#include "common/status_macros.hpp"

namespace credvault::migrate {
namespace {

// The lock's key: "credv" in ASCII. Advisory locks are per database.
constexpr const char* kLockKey = "427071263094";
// Sent without parameters on purpose: a parameterized statement leaves its
// (unnamed) portal open until the transaction ends, and the portal keeps its
// snapshot, which would make CREATE INDEX CONCURRENTLY in a migration wait
// for this very transaction. A simple query drops its portal at once.
// idle_in_transaction_session_timeout is switched off for this transaction:
// it sits idle while the migrations run on another connection, and a
// server-wide timeout must not end it (and with it the lock) half-way.
constexpr const char* kTryLock =
    "SELECT pg_try_advisory_xact_lock(427071263094), "
    "set_config('idle_in_transaction_session_timeout', '0', true)";
constexpr const char* kHolder =
    "SELECT a.pid::text, coalesce(nullif(a.application_name, ''), '?'), "
    "to_char(coalesce(a.xact_start, a.backend_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z' "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint AND l.objsubid = 1";

}  // namespace

StatusOr<std::string> MigrationLock::DescribeHolder(db::Connection& conn) {
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn.Query(kHolder, {kLockKey}));
  if (rows.empty()) return std::string();
  return "pid " + rows.text(0, 0) + " (" + rows.text(0, 1) + ") since " + rows.text(0, 2);
}

StatusOr<std::unique_ptr<MigrationLock>> MigrationLock::Acquire(const std::string& conninfo, int timeout_seconds,
                                                                spdlog::logger& log) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(conninfo, "credvault migrate"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  auto next_report = std::chrono::steady_clock::now();
  for (;;) {
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn->Begin());
    CV_ASSIGN_OR_RETURN(db::Rows got, tx->Query(kTryLock));
    if (got.text(0, 0) == "t") return std::unique_ptr<MigrationLock>(new MigrationLock(std::move(conn), std::move(tx)));
    // Not ours: end the transaction, so that waiting holds no pooled server
    // connection between polls.
    tx->Abort();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      CV_ASSIGN_OR_RETURN(std::string holder, DescribeHolder(*conn));
      return AbortedError("another migrator holds the migration lock (" +
                              (holder.empty() ? std::string("holder already gone") : holder) + "); gave up after " +
                              std::to_string(timeout_seconds) + " s (--lock-timeout)",
                          "lock_busy");
    }
    if (now >= next_report) {
      CV_ASSIGN_OR_RETURN(std::string holder, DescribeHolder(*conn));
      log.info("waiting for the migration lock, held by {}", holder.empty() ? "a session that just left" : holder);
      next_report = now + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

MigrationLock::~MigrationLock() {
  // Rolling back ends the transaction and releases the lock with it.
  if (holding_) holding_->Abort();
}

}  // namespace credvault::migrate
