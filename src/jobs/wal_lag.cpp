#include "jobs/wal_lag.hpp"

#include <algorithm>

namespace credvault::jobs {

void WalLagTracker::Sample(std::uint64_t lsn, Clock::time_point when) {
  if (!samples_.empty() && lsn <= samples_.back().lsn) return;
  samples_.push_back({lsn, when});
  if (samples_.size() > kMaxSamples) samples_.pop_front();
}

double WalLagTracker::LagSeconds(std::uint64_t replay_lsn, Clock::time_point now) const {
  // Samples are in increasing lsn order: the first beyond replay_lsn.
  auto first = std::upper_bound(samples_.begin(), samples_.end(), replay_lsn,
                                [](std::uint64_t lsn, const Sample_& sample) { return lsn < sample.lsn; });
  if (first == samples_.end()) return 0;
  return std::max(0.0, std::chrono::duration<double>(now - first->when).count());
}

void WalLagTracker::Forget(std::uint64_t replayed_by_all) {
  while (!samples_.empty() && samples_.front().lsn <= replayed_by_all) samples_.pop_front();
}

}  // namespace credvault::jobs
