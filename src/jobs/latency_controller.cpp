#include "jobs/latency_controller.hpp"

#include <algorithm>
#include <cmath>

#include "jobs/latency_probe.hpp"

namespace credvault::jobs {

LatencyController::LatencyController(double target_seconds, std::size_t max_rows, double max_rate)
    : target_(target_seconds),
      max_rows_(std::max<std::size_t>(1, max_rows)),
      max_rate_(max_rate),
      rate_(max_rate > 0 ? std::min(kStartRate, max_rate) : kStartRate) {}

LatencyController::Change LatencyController::Judge(const std::vector<double>& latencies,
                                                   double achieved_rows_per_second) {
  // One call over the target is already a verdict when it is far over (a
  // stall); otherwise wait for a window large enough to estimate a p99.
  capacity_ = std::max(capacity_, achieved_rows_per_second);
  const double worst = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  if (latencies.size() < kMinSamples && worst <= 2 * target_) return Change::kWaiting;
  last_p99_ = Quantile(latencies, 0.99);
  last_window_ = latencies.size();
  if (last_p99_ > target_) {
    rate_ = std::min(rate_, std::max(floor(), rate_ * kDecreaseFactor));
    backing_off_ = true;
    return Change::kDecreased;
  }
  backing_off_ = false;
  // Raising the rate past what the job reaches changes nothing now and
  // would make the next decrease too small to be felt.
  const double ceiling = achieved_rows_per_second > 0 ? achieved_rows_per_second * kHeadroom : rate_;
  double limit = std::max(ceiling, rate_);
  if (max_rate_ > 0) limit = std::min(limit, max_rate_);
  const double raised = std::min(rate_ + kIncreaseFraction * std::max(kStartRate, rate_), limit);
  if (raised <= rate_) return Change::kHeld;
  rate_ = raised;
  return Change::kIncreased;
}

std::size_t LatencyController::batch_rows() const { return BurstRows(rate_, max_rows_); }

double LatencyController::floor() const {
  const double fastest = max_rate_ > 0 ? std::min(capacity_, max_rate_) : capacity_;
  return std::max(kMinRate, kMinShareOfCapacity * fastest);
}

std::size_t BurstRows(double rows_per_second, std::size_t max_rows) {
  const double rows = std::ceil(rows_per_second * LatencyController::kBurstSeconds);
  return std::clamp<std::size_t>(static_cast<std::size_t>(std::max(rows, 0.0)), std::min(LatencyController::kMinRows, max_rows),
                                 max_rows);
}

}  // namespace credvault::jobs
