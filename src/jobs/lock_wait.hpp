// What a row job does when a statement gave up waiting for a lock on
// credentials: name the transactions in the way, and decide whether to try
// again or stop.
#pragma once

#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/jobs.hpp"

namespace credvault::jobs {

// How long one statement of a job waits for a lock (its lock_timeout, set per
// transaction); JobOptions::lock_wait_seconds bounds the waits in all.
inline constexpr int kLockWaitSeconds = 5;

// The transactions holding locks on credentials, oldest first, as a sentence
// for a log line or an error ("The lock holder has gone." when none is).
std::string DescribeLockHolders(db::Connection& conn);

// After the `waits`-th statement of job `job_name` that gave up waiting
// kLockWaitSeconds for a lock while `doing`: logs who holds locks on
// credentials, and says whether to try again (Ok) or stop (kAborted, reason
// lock_busy, exit 7) because options.lock_wait_seconds have passed. Counts the
// wait and the retry in options.counters.
Status WaitedForLock(db::Connection& conn, int waits, const std::string& doing, const std::string& job_name,
                     const JobOptions& options);

}  // namespace credvault::jobs
