// Enforces a row job's ThrottleOptions between its batches.
//
// The job calls BeforeBatch before writing each batch; it returns when the
// batch may be written. A throttle that cannot be evaluated is an error when
// the job starts, never a silent no-op (docs/RUNBOOK.md lists each error and
// its exit code).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "credvault/status.hpp"
#include "jobs/jobs.hpp"
#include "jobs/latency_controller.hpp"
#include "jobs/latency_probe.hpp"
#include "jobs/throttle_options.hpp"
#include "jobs/wal_lag.hpp"

namespace credvault::db {
class Connection;
}

namespace credvault::jobs {

// Paces batches to a mean of `rows_per_second` from the first batch on: a
// batch may start once the rows before it have had their time. Time the job
// spent slower than the rate (or paused) is not saved up for a burst.
class RatePacer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RatePacer(double rows_per_second) : rows_per_second_(rows_per_second) {}
  // From the next Admit on (a batch already admitted keeps its time).
  void set_rate(double rows_per_second) { rows_per_second_ = rows_per_second; }
  // How long a batch wanting to start at `now` must wait.
  Clock::duration Delay(Clock::time_point now) const;
  // A batch of `rows` rows starts at `now` (after its Delay).
  void Admit(std::uint64_t rows, Clock::time_point now);

 private:
  double rows_per_second_;
  Clock::time_point next_{};  // the earliest start of the next batch
};

class Throttle {
 public:
  // Opens the connections the throttles need (to `conninfo`, the job's
  // database, named `application_name`, and to each replica) and evaluates
  // each throttle once. Errors, nothing written yet:
  //   kPermissionDenied  the login may not read pg_stat_replication's lag or
  //                      pg_stat_activity's states (GRANT pg_monitor names the fix);
  //   kUnavailable       a --replica-url cannot be reached;
  //   kInvalidArgument   a --replica-url is not a standby, or a standby of
  //                      another server; --max-replica-lag without any
  //                      standby streaming from the server.
  // nullptr when `options` asks for nothing. `label` ("rotate") starts the
  // log lines; `stop` (may be null) ends a pause early; `batch_size` is the
  // most rows a batch may hold; `counters` (may be null) get the latency
  // throttle's state.
  static StatusOr<std::unique_ptr<Throttle>> Start(const ThrottleOptions& options, const std::string& conninfo,
                                                   const std::string& application_name, const std::string& label,
                                                   std::shared_ptr<spdlog::logger> log, PauseFunction on_pause,
                                                   const std::atomic<bool>* stop, std::size_t batch_size = 5000,
                                                   std::shared_ptr<JobCounters> counters = nullptr);
  ~Throttle();
  Throttle(const Throttle&) = delete;
  Throttle& operator=(const Throttle&) = delete;

  // Waits until a batch of `rows` rows may be written. Before waiting at all
  // it calls `drain` once (the job finishes the write in flight there, so no
  // transaction of the job is open during a pause). Returns early, Ok, when
  // `stop` is set. An error: the primary could not be asked (the job's own
  // statements would fail the same way).
  Status BeforeBatch(std::uint64_t rows, const std::function<Status()>& drain);

  // After a batch of `rows` rows was read, transformed and written in
  // `busy_seconds`: the latency throttle judges the probe's recent calls and
  // adapts the rate and the batch size.
  void AfterBatch(std::uint64_t rows, double busy_seconds);

  // True when batches should run one at a time on one writer (a rate or a
  // latency target is set): short bursts with the server free between them.
  bool serial() const { return options_.paced(); }
  // Rows the next batch should hold: what the rate or latency target leaves
  // for a short burst, at most the job's batch size.
  std::size_t BatchRows() const;

  // Seconds spent waiting in BeforeBatch, for every reason.
  double waited_seconds() const { return waited_seconds_; }

 private:
  struct Replica;
  struct Hold {
    std::string throttle;  // "max_replica_lag" / "max_active"; "" = nothing holds the job
    std::string reason;
  };
  Throttle(const ThrottleOptions& options, std::string application_name, std::string label,
           std::shared_ptr<spdlog::logger> log, PauseFunction on_pause, const std::atomic<bool>* stop,
           std::size_t batch_size, std::shared_ptr<JobCounters> counters);

  Status Open(const std::string& conninfo);
  Status StartLatencyProbe(const std::string& conninfo);
  double Rate() const;  // rows per second the pacer allows (0 = no pacing)
  void PublishLatencyState();
  // What holds the job now (lag or active sessions), checking the server at
  // most every kCheckInterval unless `force`.
  StatusOr<Hold> Check(bool force);
  StatusOr<Hold> CheckReplicaLag();
  StatusOr<Hold> CheckActive();
  bool Stopping() const { return stop_ != nullptr && stop_->load(); }
  void Report(ThrottlePause::Phase phase, const Hold& hold, double seconds);
  std::string Describe() const;

  ThrottleOptions options_;
  std::string application_name_;
  std::string label_;
  std::shared_ptr<spdlog::logger> log_;
  PauseFunction on_pause_;
  const std::atomic<bool>* stop_;
  std::unique_ptr<db::Connection> monitor_;  // the job's database: lag samples, pg_stat_*
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::size_t standbys_at_start_ = 0;  // in pg_stat_replication, when no replica is named
  std::size_t batch_size_;
  std::shared_ptr<JobCounters> counters_;
  RatePacer pacer_;
  // The latency throttle (when max_latency is set): the probe's calls since
  // last_judged_ are the next window; rows and busy seconds since then give
  // the job's capacity.
  std::unique_ptr<LatencyProbe> probe_;
  std::unique_ptr<LatencyController> controller_;
  double idle_p99_ = 0;  // the probe's p99 before the job's first write
  std::chrono::steady_clock::time_point last_judged_{};
  std::chrono::steady_clock::time_point last_latency_log_{};
  std::uint64_t rows_since_judged_ = 0;
  double busy_since_judged_ = 0;
  WalLagTracker lag_;
  std::chrono::steady_clock::time_point last_check_{};
  Hold last_hold_;
  double waited_seconds_ = 0;
};

// The line a pause is reported with when no PauseFunction is given (the CLI
// uses it too): "rotate: paused (max_replica_lag): standby ... is 3.2 s
// behind (--max-replica-lag 1)", "rotate: paused 5 s (...): ...",
// "rotate: resumed after 7.4 s paused (max_replica_lag)".
std::string DescribePause(const std::string& label, const ThrottlePause& pause);

}  // namespace credvault::jobs
