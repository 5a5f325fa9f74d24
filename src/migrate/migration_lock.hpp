// One migrator at a time: a transaction-level PostgreSQL advisory lock
// (pg_try_advisory_xact_lock) taken in a transaction that stays open on a
// dedicated connection for as long as this object lives. Ending the
// transaction (this object's destructor, the process dying, the connection
// being cut) releases the lock. Unlike a session-level lock, nothing outlives
// the transaction, so it works through a pooler in transaction mode
// (PgBouncer), which would otherwise hand a session lock on to whichever
// client gets that server connection next.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::migrate {

class MigrationLock {
 public:
  // Polls pg_try_advisory_xact_lock until it succeeds or `timeout_seconds` pass;
  // while waiting, logs every few seconds who holds it. On timeout: kAborted
  // naming the holder (pid, application_name, since when).
  static StatusOr<std::unique_ptr<MigrationLock>> Acquire(const std::string& conninfo, int timeout_seconds,
                                                          spdlog::logger& log);
  ~MigrationLock();

  // "pid 123 (credvault migrate) since 2026-02-15 10:00:00Z", or "" if nobody holds it.
  static StatusOr<std::string> DescribeHolder(db::Connection& conn);

 private:
  MigrationLock(std::unique_ptr<db::Connection> conn, std::unique_ptr<db::Transaction> holding)
      : conn_(std::move(conn)), holding_(std::move(holding)) {}
  std::unique_ptr<db::Connection> conn_;
  std::unique_ptr<db::Transaction> holding_;  // the open transaction that holds the lock; destroyed first
};

}  // namespace credvault::migrate
