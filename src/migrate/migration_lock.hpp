// One migrator at a time: a session-level PostgreSQL advisory lock held on a
// dedicated connection for as long as this object lives. If the process dies,
// the server drops the session and with it the lock.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::migrate {

class MigrationLock {
 public:
  // Polls pg_try_advisory_lock until it succeeds or `timeout_seconds` pass;
  // while waiting, logs every few seconds who holds it. On timeout: kAborted
  // naming the holder (pid, application_name, since when).
  static StatusOr<std::unique_ptr<MigrationLock>> Acquire(const std::string& conninfo, int timeout_seconds,
                                                          spdlog::logger& log);
  ~MigrationLock();

  // "pid 123 (credvault migrate) since 2026-02-15 10:00:00Z", or "" if nobody holds it.
  static StatusOr<std::string> DescribeHolder(db::Connection& conn);

 private:
  explicit MigrationLock(std::unique_ptr<db::Connection> conn) : conn_(std::move(conn)) {}
  std::unique_ptr<db::Connection> conn_;
};

}  // namespace credvault::migrate
