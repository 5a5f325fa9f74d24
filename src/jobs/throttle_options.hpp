// What an operator asks of a row job so that the applications sharing the
// database do not notice it (docs/RUNBOOK.md, "Throttling a row job"): a
// ceiling on the application's latency, on the rows written per second, on
// the standbys' replay lag and on the other sessions busy on the database. Pauses happen between batches,
// never inside a transaction. The Throttle that enforces them is in
// jobs/throttle.hpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace credvault::jobs {

// The least target max_latency_auto sets, in seconds: below it the probe's
// own jitter would hold the job back.
inline constexpr double kAutoLatencyFloor = 0.0005;

struct ThrottleOptions {
  // Rows per second, averaged from the job's start (no burst after a pause);
  // 0 = no limit.
  double max_rate = 0;
  // Seconds a standby may lag behind before the job waits; 0 = not watched.
  double max_replica_lag = 0;
  // The standbys to watch, as conninfos (queried directly: exact replay
  // positions); empty = every standby streaming in the server's
  // pg_stat_replication (needs pg_monitor or pg_read_all_stats).
  std::vector<std::string> replica_conninfos;
  // The job waits while more than this many other sessions run a statement on
  // its database (pg_stat_activity state 'active', excluding the job's own
  // sessions); -1 = not watched. Needs pg_monitor or pg_read_all_stats.
  int max_active = -1;
  // Seconds the application's p99 latency may reach while the job runs:
  // the job probes the application's read by account_id from a session of
  // its own and adapts its rate and batch size to stay under it
  // (jobs/latency_controller.hpp); 0 = not watched.
  double max_latency = 0;
  // max_latency from the application's own latency instead: twice the p99
  // the probe measures before the job writes anything (at least
  // kAutoLatencyFloor). max_latency is then ignored.
  bool max_latency_auto = false;

  bool latency_watched() const { return max_latency > 0 || max_latency_auto; }
  // A rate or a latency target paces the job: it then writes one short
  // batch at a time on one writer (Throttle::serial).
  bool paced() const { return max_rate > 0 || latency_watched(); }
  bool enabled() const { return max_rate > 0 || max_replica_lag > 0 || max_active >= 0 || latency_watched(); }
};

// A pause for replica lag or active sessions (rate waits are not reported one
// by one: the progress line's rows/s shows them).
struct ThrottlePause {
  enum class Phase { kStarted, kContinuing, kEnded };
  Phase phase = Phase::kStarted;
  std::string throttle;  // "max_replica_lag" or "max_active"
  std::string reason;    // what holds the job, e.g. "standby walreceiver (127.0.0.1) is 3.2 s behind (max 1 s)"
  double seconds = 0;    // length of this pause so far (kEnded: in all)
};

// Called when a pause starts, about every 5 s while it lasts, and when it ends.
using PauseFunction = std::function<void(const ThrottlePause&)>;

}  // namespace credvault::jobs
