// The application's latency as a row job sees it from outside: a thread with
// its own session runs the application's read (the three credential columns
// of one account, by account_id, on random accounts) open-loop — calls are
// scheduled with exponential gaps at a fixed mean rate, and each call's
// latency is taken from its scheduled time, so a stall counts for every call
// queued behind it, as it would for a service whose requests keep coming.
// The latency controller (jobs/latency_controller.hpp) reads its samples.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "credvault/status.hpp"

namespace credvault::db {
class Connection;
}

namespace credvault::jobs {

class LatencyProbe {
 public:
  using Clock = std::chrono::steady_clock;

  struct Sample {
    Clock::time_point done;  // when the answer arrived
    double seconds;          // from the call's scheduled time to its answer
  };

  // Opens the probe's session (to `conninfo`, named `application_name` so
  // that the job's own --max-active check does not count it), learns the
  // range of account ids and starts calling at `calls_per_second`. An error:
  // the session cannot be opened or the table cannot be read (the job's own
  // statements would fail the same way).
  static StatusOr<std::unique_ptr<LatencyProbe>> Start(const std::string& conninfo, const std::string& application_name,
                                                       double calls_per_second);
  ~LatencyProbe();  // stops the thread
  LatencyProbe(const LatencyProbe&) = delete;
  LatencyProbe& operator=(const LatencyProbe&) = delete;

  // The latencies of the calls answered after `since`, oldest first (at most
  // the last kKeptSamples).
  std::vector<double> SecondsSince(Clock::time_point since) const;
  // The first error a call met ("" while none); the probe stops calling then.
  std::string error() const;

  static constexpr std::size_t kKeptSamples = 4096;

 private:
  LatencyProbe(std::unique_ptr<db::Connection> conn, long first_account, long last_account, double calls_per_second);
  void Run();

  std::unique_ptr<db::Connection> conn_;
  const long first_account_, last_account_;
  const double calls_per_second_;
  mutable std::mutex mutex_;  // guards samples_ and error_
  std::deque<Sample> samples_;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The q-quantile (0..1) of `values` by the nearest rank; 0 when empty.
double Quantile(std::vector<double> values, double q);

}  // namespace credvault::jobs
