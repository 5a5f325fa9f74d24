// How far behind a standby is, in seconds, from WAL positions alone.
//
// pg_stat_replication's replay_lag stops growing while a standby's replay is
// stuck (it is only updated when replay advances), so the throttle keeps its
// own record: the primary's WAL insert position sampled at each check, with
// the time it was read. A standby that has replayed up to R is at least
// (now - t) behind, where t is the time of the first sample beyond R: the
// primary had written WAL it still lacks at t. The estimate never exceeds
// the true lag (its error is one check interval), so it never pauses a job
// for nothing; and it keeps growing while replay is stuck.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

namespace credvault::jobs {

class WalLagTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // Records the primary's WAL position `lsn` (bytes) read at `when`; a
  // position not beyond the last one recorded adds nothing.
  void Sample(std::uint64_t lsn, Clock::time_point when);

  // Seconds a standby that has replayed up to `replay_lsn` lags at `now`
  // (0 when it has replayed everything sampled).
  double LagSeconds(std::uint64_t replay_lsn, Clock::time_point now) const;

  // Drops the samples every watched standby has replayed past (they can no
  // longer be the first beyond anyone's position).
  void Forget(std::uint64_t replayed_by_all);

  std::size_t size() const { return samples_.size(); }

 private:
  static constexpr std::size_t kMaxSamples = 100000;  // hours of checks; the oldest go first
  struct Sample_ {
    std::uint64_t lsn;
    Clock::time_point when;
  };
  std::deque<Sample_> samples_;
};

}  // namespace credvault::jobs
