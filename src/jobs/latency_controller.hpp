// Keeps an application's latency under a target while a row job runs
// (--max-latency): the job's write rate rises by a tenth after each window
// of probe calls under the target and halves after one over it, as TCP
// adapts its congestion window, driven by the LatencyProbe's recent p99
// instead of packet loss.
//
// The rate paces the job's batches (RatePacer), and the batch size follows
// from the rate (BurstRows), so a slower job also works in shorter bursts.
// Pure logic: no clock, no database; the Throttle feeds it.
#pragma once

#include <cstddef>
#include <vector>

namespace credvault::jobs {

class LatencyController {
 public:
  // `target_seconds`: the p99 to stay under. `max_rows`: the job's batch
  // size, the most one burst may hold. `max_rate`: --max-rate, the most rows
  // per second ever allowed (0: none); the rate never rises past it, so a
  // decrease always slows the job at once.
  LatencyController(double target_seconds, std::size_t max_rows, double max_rate = 0);

  enum class Change {
    kWaiting,    // too few calls answered yet to judge: keep gathering
    kHeld,       // judged; the rate stays (it is at what the job can do)
    kIncreased,  // judged under the target: the rate rose by a tenth
    kDecreased,  // judged over the target: the rate halved
  };

  // Judges the probe's latencies answered since the previous judgement
  // (oldest first) once there are enough of them, and
  // `achieved_rows_per_second`, the rate the job reached since then while it
  // was not waiting for the pacer (its capacity: the rate is not raised far
  // past what the job can do, so that a decrease bites at once).
  Change Judge(const std::vector<double>& latencies, double achieved_rows_per_second);

  double rate() const { return rate_; }                 // rows per second allowed now
  double floor() const;  // the least it goes down to: a twentieth of the fastest the job went (or --max-rate)
  std::size_t batch_rows() const;                       // rows per batch at that rate
  double last_p99() const { return last_p99_; }         // of the last judged window; 0 before
  std::size_t last_window() const { return last_window_; }  // calls in it
  bool backing_off() const { return backing_off_; }     // the last change was a decrease

  // Tuning, public for the tests.
  static constexpr std::size_t kMinSamples = 20;     // a window needs this many calls answered
  static constexpr double kDecreaseFactor = 0.5;     // a window over the target halves the rate
  static constexpr double kIncreaseFraction = 0.1;   // a window under it raises the rate by a tenth
  static constexpr double kStartRate = 2000;         // rows per second: cautious, grows within seconds
  static constexpr double kMinRate = 50;             // never stops: a lock held elsewhere is a pause, not this
  // Nor slower than this share of the most the job has reached: a target
  // the machine cannot meet (or a noisy probe) costs at most 20x the time.
  static constexpr double kMinShareOfCapacity = 0.05;
  // A batch holds this many seconds of work at the rate: shorter bursts left the application a lower
  // p99 (docs/RUNBOOK.md, "Small paced bursts") down to 5 ms; below it the round trips cost the rate.
  static constexpr double kBurstSeconds = 0.005;
  static constexpr std::size_t kMinRows = 20;
  static constexpr double kHeadroom = 1.25;          // the rate stays within this factor of the job's capacity

 private:
  double target_;
  std::size_t max_rows_;
  double max_rate_;
  double rate_;
  double capacity_ = 0;  // the most rows per second the job has reached
  double last_p99_ = 0;
  std::size_t last_window_ = 0;
  bool backing_off_ = false;
};

// Rows per batch for a job paced at `rows_per_second`: kBurstSeconds of work,
// at least kMinRows, at most `max_rows`.
std::size_t BurstRows(double rows_per_second, std::size_t max_rows);

}  // namespace credvault::jobs
