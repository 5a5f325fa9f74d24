#include "jobs/lock_wait.hpp"

namespace credvault::jobs {

std::string DescribeLockHolders(db::Connection& conn) {
  auto rows = conn.Query(
      "SELECT a.pid::text, coalesce(nullif(a.application_name, ''), '(no application_name)'), "
      "  coalesce(extract(epoch FROM now() - a.xact_start)::bigint::text, '?'), min(l.mode) "
      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'relation' AND l.relation = 'credentials'::regclass AND l.granted "
      "  AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' "
      "GROUP BY a.pid, a.application_name, a.xact_start ORDER BY a.xact_start LIMIT 3");
  if (!rows.ok() || rows->empty()) return "The lock holder has gone.";
  std::string out = "Locks on credentials are held by";
  for (std::size_t i = 0; i < rows->size(); ++i) {
    out += (i ? "; " : " ") + ("pid " + rows->text(i, 0) + " (" + rows->text(i, 1) + ", transaction open " +
                               rows->text(i, 2) + " s, " + rows->text(i, 3) + ")");
  }
  return out + ".";
}

Status WaitedForLock(db::Connection& conn, int waits, const std::string& doing, const std::string& job_name,
                     const JobOptions& options) {
  const std::string holders = DescribeLockHolders(conn);
  const int waited = waits * kLockWaitSeconds;
  if (options.counters) options.counters->lock_wait_seconds += kLockWaitSeconds;
  if (waited >= options.lock_wait_seconds) {
    return AbortedError(job_name + " waited " + std::to_string(waited) + " s for locks on credentials " +
                            "while " + doing + " and stopped (every earlier batch is kept; rerun to finish). " +
                            holders,
                        "lock_busy");
  }
  options.log->warn("{}: waited {} s for a lock while {}; retrying. {}", job_name, kLockWaitSeconds, doing, holders);
  if (options.counters) ++options.counters->retries;
  return Status::Ok();
}

}  // namespace credvault::jobs
