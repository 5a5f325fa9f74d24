#include "cli/metrics.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::cli {
namespace {

constexpr auto kWriteInterval = std::chrono::seconds(2);

// credvault writes a few kilobytes; anything much larger is not its file.
constexpr off_t kMaxMetricsFileBytes = 1 << 20;

Status Refused(const std::string& path, const std::string& why) {
  return PermissionDeniedError("the metrics file " + path + " " + why + ": refused, left as it is");
}

// A regular file owned by the effective user, at most kMaxMetricsFileBytes:
// what credvault may read and replace. `what` names the file in messages.
Status CheckOwnRegularFile(int fd, const std::string& what) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Refused(what, std::string("cannot be examined (") + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) return Refused(what, "is not a regular file (a FIFO, device or folder)");
  if (st.st_uid != geteuid()) {
    return Refused(what, "is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                             std::to_string(geteuid()) + ")");
  }
  if (st.st_size > kMaxMetricsFileBytes) return Refused(what, "is larger than 1 MiB: not a metrics file credvault wrote");
  return Status::Ok();
}

// The file as it is now; an empty set when it does not exist. Opened without
// following a symbolic link and without blocking (a FIFO), and read only when
// it is a regular file of this user. A file that is not in the format
// credvault writes is refused, never replaced, and its content is never
// quoted (it may be a key file): only the number of the first bad line.
StatusOr<MetricSet> ReadExisting(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return MetricSet{};
    if (errno == ELOOP) return Refused(path, "is a symbolic link (credvault writes only a regular file it owns)");
    return Refused(path, std::string("cannot be opened (") + std::strerror(errno) + ")");
  }
  std::string text;
  Status usable = CheckOwnRegularFile(fd, path);
  char buffer[65536];
  while (usable.ok()) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) usable = Refused(path, std::string("cannot be read (") + std::strerror(errno) + ")");
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > static_cast<std::size_t>(kMaxMetricsFileBytes)) usable = Refused(path, "is larger than 1 MiB");
  }
  close(fd);
  CV_RETURN_IF_ERROR(usable);
  auto parsed = ParseMetrics(text);
  if (!parsed.ok()) {
    return Refused(path, "is not a metrics file credvault wrote (" + parsed.status().message() +
                             "); delete it or give another path");
  }
  return parsed;
}

// Holds an exclusive flock on `<file>.lock` (created 0600 next to the file,
// never followed through a symbolic link, and only when it is a regular file
// of this user): two credvault commands sharing one metrics file merge into
// it one at a time, and nobody else can open the lock to block them.
class FileLock {
 public:
  static StatusOr<std::unique_ptr<FileLock>> Acquire(const std::string& file) {
    const std::string path = file + ".lock";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
      return PermissionDeniedError("cannot lock the metrics file " + file + " (" + path + "): " + std::strerror(errno));
    }
    std::unique_ptr<FileLock> lock(new FileLock(fd));
    CV_RETURN_IF_ERROR(CheckOwnRegularFile(fd, file + "'s lock " + path));
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return PermissionDeniedError("cannot lock the metrics file " + file + " (" + path + "): " + std::strerror(errno));
      }
    }
    return lock;
  }
  ~FileLock() { close(fd_); }  // releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

double Now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec / 1000000) / 1000.0;
}

}  // namespace

Status CommandMetrics::Open(const std::string& path, const std::string& command, std::shared_ptr<spdlog::logger> log) {
  if (path.empty()) return Status::Ok();
  path_ = path;
  command_ = command;
  log_ = std::move(log);
  start_ = std::chrono::steady_clock::now();
  {
    auto lock = FileLock::Acquire(path_);
    auto existing = lock.ok() ? ReadExisting(path_) : StatusOr<MetricSet>(lock.status());
    if (!existing.ok()) {
      path_.clear();  // disabled: the caller reports the failure
      return existing.status().Annotate("--metrics-file");
    }
    for (auto& [name, family] : *existing) {
      if (family.type == "counter") baseline_[name] = std::move(family);
    }
  }
  Gauge("credvault_command_running", "1 while the command runs, 0 once it has ended", {{"command", command_}}, 1);
  Status written = Write();
  if (!written.ok()) {
    path_.clear();  // disabled: the caller reports the failure
    return written.Annotate("--metrics-file");
  }
  return Status::Ok();
}

void CommandMetrics::Gauge(const std::string& name, const std::string& help, const MetricLabels& labels,
                           double value) {
  MetricFamily& family = own_[name];
  family.help = help;
  family.type = "gauge";
  family.samples[RenderLabels(labels)] = value;
}

void CommandMetrics::Count(const std::string& name, const std::string& help, const MetricLabels& labels,
                           double increase) {
  MetricFamily& family = own_[name];
  family.help = help;
  family.type = "counter";
  family.samples[RenderLabels(labels)] = increase;
}

void CommandMetrics::UpdateJobGauges() {
  const MetricLabels labels = {{"command", command_}};
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  Gauge("credvault_job_rows_done", "Rows the current pass of the row job has finished", labels,
        static_cast<double>(last_done_));
  Gauge("credvault_job_rows_to_do", "Rows the current pass of the row job has to do", labels,
        static_cast<double>(rows_total_));
  Gauge("credvault_job_rows_per_second", "Rows finished per second since the command started", labels,
        elapsed > 0 ? static_cast<double>(rows_processed_) / elapsed : 0);
  Count("credvault_job_rows_processed_total", "Rows finished by row jobs, over every run", labels,
        static_cast<double>(rows_processed_));
  if (counters_) {
    Count("credvault_job_retries_total", "Batch statements rolled back (lock wait, deadlock) and tried again", labels,
          static_cast<double>(counters_->retries.load()));
    Count("credvault_job_lock_wait_seconds_total", "Seconds row jobs spent in lock waits that timed out", labels,
          static_cast<double>(counters_->lock_wait_seconds.load()));
    if (counters_->latency_target_us.load() > 0) UpdateLatencyGauges(labels);
  }
}

void CommandMetrics::UpdateLatencyGauges(const MetricLabels& labels) {
  Gauge("credvault_job_latency_target_seconds", "The p99 latency the row job keeps the application under (--max-latency)",
        labels, static_cast<double>(counters_->latency_target_us.load()) / 1e6);
  Gauge("credvault_job_probe_p99_seconds", "The row job's latency probe: p99 of its last window of calls", labels,
        static_cast<double>(counters_->probe_p99_us.load()) / 1e6);
  Gauge("credvault_job_paced_rows_per_second", "The rate the latency throttle allows the row job now", labels,
        static_cast<double>(counters_->paced_rows_per_second.load()));
  Gauge("credvault_job_batch_rows", "Rows per batch the latency throttle allows the row job now", labels,
        static_cast<double>(counters_->batch_rows.load()));
  Gauge("credvault_job_backing_off", "1 while the latency throttle's last change slowed the row job down", labels,
        counters_->backing_off.load() ? 1 : 0);
}

void CommandMetrics::JobProgress(std::uint64_t rows_done, std::uint64_t rows_total) {
  if (!enabled()) return;
  // A new pass starts again from 0: its rows add to what earlier passes did.
  rows_processed_ += rows_done >= last_done_ ? rows_done - last_done_ : rows_done;
  last_done_ = rows_done;
  rows_total_ = rows_total;
  UpdateJobGauges();
  if (std::chrono::steady_clock::now() - last_write_ < kWriteInterval) return;
  Status written = Write();
  if (!written.ok() && !warned_) {
    warned_ = true;
    log_->warn("{}", written.message());
  }
}

void CommandMetrics::JobReport(const jobs::JobReport& report) {
  if (!enabled()) return;
  for (const auto& [column, n] : report.by_column) {
    // verify's by_column counts values checked, not written.
    if (command_ == "verify") {
      Gauge("credvault_verify_values_checked", "Values the last verify checked", {{"column", column}},
            static_cast<double>(n));
    } else {
      // A dry run's by_column counts what it would write; it wrote nothing.
      Count("credvault_job_values_written_total", "Values the row jobs replaced, over every run",
            {{"command", command_}, {"column", column}}, report.values_written > 0 ? static_cast<double>(n) : 0);
    }
  }
  if (command_ == "verify") {
    OwnWhole("credvault_verify_values_checked");
    OwnWhole("credvault_verify_failed_values");
    for (const char* reason : reason::kVerify) {
      auto found = report.bad_by_reason.find(reason);
      Gauge("credvault_verify_failed_values", "Values the last verify could not decrypt, per reason",
            {{"reason", reason}}, found == report.bad_by_reason.end() ? 0 : static_cast<double>(found->second));
    }
  }
  Gauge("credvault_job_passes", "Passes the last run of the row job made", {{"command", command_}},
        static_cast<double>(report.passes));
}

void CommandMetrics::ValueCounts(const std::map<std::string, std::map<std::string, std::uint64_t>>& counts,
                                 const std::vector<std::string>& ring_kids) {
  if (!enabled()) return;
  std::map<std::string, std::map<std::string, std::uint64_t>> all = counts;
  for (const auto& kid : ring_kids) all[kid];  // 0 where unused
  own_.erase("credvault_values");
  own_.erase("credvault_plaintext_values");
  OwnWhole("credvault_values");
  OwnWhole("credvault_plaintext_values");
  for (const auto& [kid, columns] : all) {
    for (const ledger::CredentialColumn& credential : ledger::kCredentialColumns) {
      const char* column = credential.name;
      auto found = columns.find(column);
      const double n = found == columns.end() ? 0 : static_cast<double>(found->second);
      if (kid.empty()) {
        Gauge("credvault_plaintext_values", "Values of credentials not encrypted yet, per column", {{"column", column}}, n);
      } else {
        Gauge("credvault_values", "Encrypted values of credentials per key id (every key of the ring, 0 where unused)",
              {{"kid", kid}, {"column", column}}, n);
      }
    }
  }
  if (!all.count("")) {
    for (const ledger::CredentialColumn& credential : ledger::kCredentialColumns) {
      const char* column = credential.name;
      Gauge("credvault_plaintext_values", "Values of credentials not encrypted yet, per column", {{"column", column}}, 0);
    }
  }
}

void CommandMetrics::ClientSecretAges(const std::vector<std::pair<std::string, double>>& ages) {
  if (!enabled()) return;
  own_.erase("credvault_client_secret_age_days");
  OwnWhole("credvault_client_secret_age_days");
  for (const auto& [client, days] : ages) {
    Gauge("credvault_client_secret_age_days",
          "Days since the LWA client secret last changed on every account of the client (+Inf: unknown)",
          {{"client", client}}, days);
  }
}

void CommandMetrics::CountValuesAtFinish(std::string conninfo, std::vector<std::string> ring_kids) {
  count_conninfo_ = std::move(conninfo);
  count_ring_kids_ = std::move(ring_kids);
  count_at_finish_ = true;
}

void CommandMetrics::Finish(int exit_code) {
  if (!enabled()) return;
  if (count_at_finish_) {
    auto counts = jobs::CountValuesByKid(count_conninfo_);
    if (counts.ok()) {
      ValueCounts(*counts, count_ring_kids_);
    } else {
      log_->warn("--metrics-file: values per key not counted: {}", counts.status().message());
    }
  }
  if (counters_ || rows_total_ > 0) UpdateJobGauges();
  const MetricLabels labels = {{"command", command_}};
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  Gauge("credvault_command_running", "1 while the command runs, 0 once it has ended", labels, 0);
  Gauge("credvault_command_duration_seconds", "How long the last run of the command took", labels, seconds);
  Gauge("credvault_command_exit_code", "Exit code of the last run of the command (0 = success)", labels, exit_code);
  Count("credvault_command_runs_total", "Runs of the command, over every run", labels, 1);
  Count("credvault_command_failures_total", "Runs of the command that exited non-zero", labels, exit_code != 0 ? 1 : 0);
  if (exit_code == 0) {
    Gauge("credvault_command_last_success_timestamp_seconds", "When the command last succeeded (Unix time)", labels,
          Now());
  }
  Status written = Write();
  if (!written.ok()) log_->warn("{}", written.message());
}

Status CommandMetrics::Write() {
  last_write_ = std::chrono::steady_clock::now();
  CV_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, FileLock::Acquire(path_));
  // A file that changed into something else meanwhile is left as it is.
  CV_ASSIGN_OR_RETURN(MetricSet out, ReadExisting(path_));
  for (const auto& [name, family] : own_) {
    MetricFamily& target = out[name];
    if (target.type != family.type) target.samples.clear();  // a family credvault no longer writes this way
    if (whole_families_.count(name)) {
      target.samples.clear();
    } else {
      for (auto it = target.samples.begin(); it != target.samples.end();) {
        it = LabelValue(it->first, "command") == command_ ? target.samples.erase(it) : std::next(it);
      }
    }
    target.help = family.help;
    target.type = family.type;
    for (const auto& [labels, value] : family.samples) {
      double base = 0;
      if (family.type == "counter") {
        auto counter = baseline_.find(name);
        if (counter != baseline_.end()) {
          auto sample = counter->second.samples.find(labels);
          if (sample != counter->second.samples.end()) base = sample->second;
        }
      }
      target.samples[labels] = base + value;
    }
  }
  return WriteFileAtomically(path_, RenderMetrics(out));
}

}  // namespace credvault::cli
