// --metrics-file: what a command did, in Prometheus text format, for
// node_exporter's textfile collector (docs/RUNBOOK.md, "Monitoring").
//
// One file can serve every command: a command replaces only its own samples
// (label command="...") and the families it measures whole (values per kid),
// and keeps the rest, so the last success of `rotate` survives a later
// `keys`. Counters (`_total`) continue from the value in the file, so they
// only rise across runs. The file is written atomically (temporary file +
// rename) under an flock of `<file>.lock`: when the command starts, every few
// seconds while a row job runs, and when it ends. Nothing written is a secret:
// counts, kids, column names, seconds, exit codes and masked client_ids. The path is never
// followed through a symbolic link nor opened blocking; only a regular file
// of the effective user, at most 1 MiB and in credvault's format, is read and
// replaced (anything else is refused, left as it is and never quoted).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli/metrics_text.hpp"
#include "credvault/status.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

class CommandMetrics {
 public:
  // Disabled until Open: every method then does nothing.
  CommandMetrics() = default;

  // Starts measuring `command` into `path` (nothing when path is ""): reads
  // the file's counters and writes it once with this command running, so an
  // unwritable path — or one that is a symbolic link, a FIFO, another user's
  // file or not a metrics file — fails before the command does anything
  // (kPermissionDenied, exit 3).
  Status Open(const std::string& path, const std::string& command, std::shared_ptr<spdlog::logger> log);
  bool enabled() const { return !path_.empty(); }

  // A row job's progress (the ProgressFunction's arguments); writes the file
  // when the last write is a few seconds old. `counters` are read then.
  void WatchJob(std::shared_ptr<jobs::JobCounters> counters) { counters_ = std::move(counters); }
  void JobProgress(std::uint64_t rows_done, std::uint64_t rows_total);
  // A finished job: values written per column, failures per reason.
  void JobReport(const jobs::JobReport& report);

  // Values per kid and column (kid "" = plaintext), with every kid of
  // `ring_kids` present (0 where unused).
  void ValueCounts(const std::map<std::string, std::map<std::string, std::uint64_t>>& counts,
                   const std::vector<std::string>& ring_kids);
  // `client-secret status`: per client (its masked client_id), the age in
  // days of its secret (+Inf when unknown); replaces the whole family.
  void ClientSecretAges(const std::vector<std::pair<std::string, double>>& ages);
  // At Finish, count the values in `conninfo` (a row job changed them).
  void CountValuesAtFinish(std::string conninfo, std::vector<std::string> ring_kids);

  // The command ended with `exit_code`: duration, exit code, last success
  // time, runs; then the final write. A failed write only warns.
  void Finish(int exit_code);

 private:
  void Gauge(const std::string& name, const std::string& help, const MetricLabels& labels, double value);
  // A counter's increase in this run (the file's value is added when written).
  void Count(const std::string& name, const std::string& help, const MetricLabels& labels, double increase);
  // Replaces the whole family `name` (not only this command's samples).
  void OwnWhole(const std::string& name) { whole_families_[name] = true; }
  void UpdateJobGauges();
  void UpdateLatencyGauges(const MetricLabels& labels);  // the latency throttle's state
  Status Write();

  std::string path_;
  std::string command_;
  std::shared_ptr<spdlog::logger> log_;
  std::chrono::steady_clock::time_point start_{};
  std::chrono::steady_clock::time_point last_write_{};
  bool warned_ = false;
  MetricSet baseline_;  // the file's counters when the command started
  MetricSet own_;       // this run's gauges, and its counters' increases
  std::map<std::string, bool> whole_families_;
  std::shared_ptr<jobs::JobCounters> counters_;
  std::uint64_t last_done_ = 0, rows_processed_ = 0, rows_total_ = 0;
  std::string count_conninfo_;
  std::vector<std::string> count_ring_kids_;
  bool count_at_finish_ = false;
};

}  // namespace credvault::cli
