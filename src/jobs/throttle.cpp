#include "jobs/throttle.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <utility>

#include "common/status_macros.hpp"
#include "db/connection.hpp"
#include "db/connection_target.hpp"

namespace credvault::jobs {
namespace {

using Clock = std::chrono::steady_clock;

// How often the server is asked between batches, and while paused.
constexpr auto kCheckInterval = std::chrono::milliseconds(250);
// The latency probe's mean call rate: enough calls for a p99 window every
// half second or so, few enough to cost the server nothing it would feel.
constexpr double kProbeCallsPerSecond = 50;
constexpr auto kLatencyReportEvery = std::chrono::seconds(5);
// The probe's calls before the job's first write that measure the idle p99
// (about two seconds), and the longest the job waits for them.
constexpr std::size_t kIdleCalls = 100;
constexpr auto kIdleWindowLimit = std::chrono::seconds(8);
constexpr double kReportEverySeconds = 5;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string Number(double value) { return fmt::format("{:g}", value); }

// The primary's WAL insert position in bytes, and the standbys streaming from
// it (none: one row of NULLs). replay_lsn is NULL until a standby reports.
constexpr const char* kReplicationSql =
    "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text, s.name, (s.replay_lsn - '0/0'::pg_lsn)::text, "
    "  coalesce(extract(epoch FROM s.replay_lag), 0)::text "
    "FROM (SELECT 1) AS one LEFT JOIN ("
    "  SELECT coalesce(nullif(application_name, ''), 'standby') || ' (' || coalesce(host(client_addr), 'local') || "
    "         ')' AS name, replay_lsn, replay_lag "
    "  FROM pg_stat_replication WHERE state IN ('streaming', 'catchup')) AS s ON true ORDER BY s.name";
constexpr const char* kPrimaryLsnSql = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text";
constexpr const char* kReplicaSql = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::text";
// Sessions running a statement on this database, other than this one and the
// job's own (named like it), oldest statement first.
constexpr const char* kActiveSql =
    "SELECT count(*)::text, coalesce(string_agg(name, ', ' ORDER BY started) FILTER (WHERE n <= 3), '') FROM ("
    "  SELECT coalesce(nullif(application_name, ''), '(no application_name)') || ' (pid ' || pid || ')' AS name, "
    "         query_start AS started, row_number() OVER (ORDER BY query_start) AS n "
    "  FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
    "    AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1) AS a";

std::uint64_t Lsn(const db::Value& value) { return value ? std::stoull(*value) : 0; }

const char* ChangeName(LatencyController::Change change) {
  switch (change) {
    case LatencyController::Change::kWaiting: return "waiting";
    case LatencyController::Change::kHeld: return "held";
    case LatencyController::Change::kIncreased: return "increased";
    case LatencyController::Change::kDecreased: return "decreased";
  }
  return "?";
}

}  // namespace

Clock::duration RatePacer::Delay(Clock::time_point now) const { return std::max(Clock::duration::zero(), next_ - now); }

void RatePacer::Admit(std::uint64_t rows, Clock::time_point now) {
  const auto start = std::max(now, next_);
  next_ = start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(rows) / rows_per_second_));
}

struct Throttle::Replica {
  std::string conninfo;
  std::string name;  // DescribeTarget: never the password
  std::unique_ptr<db::Connection> conn;
};

Throttle::Throttle(const ThrottleOptions& options, std::string application_name, std::string label,
                   std::shared_ptr<spdlog::logger> log, PauseFunction on_pause, const std::atomic<bool>* stop,
                   std::size_t batch_size, std::shared_ptr<JobCounters> counters)
    : options_(options),
      application_name_(std::move(application_name)),
      label_(std::move(label)),
      log_(std::move(log)),
      on_pause_(std::move(on_pause)),
      stop_(stop),
      batch_size_(std::max<std::size_t>(1, batch_size)),
      counters_(std::move(counters)),
      pacer_(options.max_rate) {}

Throttle::~Throttle() = default;

StatusOr<std::unique_ptr<Throttle>> Throttle::Start(const ThrottleOptions& options, const std::string& conninfo,
                                                    const std::string& application_name, const std::string& label,
                                                    std::shared_ptr<spdlog::logger> log, PauseFunction on_pause,
                                                    const std::atomic<bool>* stop, std::size_t batch_size,
                                                    std::shared_ptr<JobCounters> counters) {
  if (!std::isfinite(options.max_rate) || options.max_rate < 0 || !std::isfinite(options.max_replica_lag) ||
      options.max_replica_lag < 0 || options.max_active < -1 || !std::isfinite(options.max_latency) ||
      options.max_latency < 0) {
    return InvalidArgumentError(
        "throttles: max_rate, max_replica_lag and max_latency must be positive numbers, max_active 0 or more");
  }
  if (!options.replica_conninfos.empty() && options.max_replica_lag <= 0) {
    return InvalidArgumentError("a replica URL is given without a maximum replica lag to hold it to (--max-replica-lag)");
  }
  if (!options.enabled()) return std::unique_ptr<Throttle>();
  std::unique_ptr<Throttle> throttle(new Throttle(options, application_name, label, std::move(log),
                                                  std::move(on_pause), stop, batch_size, std::move(counters)));
  CV_RETURN_IF_ERROR(throttle->Open(conninfo));
  if (options.latency_watched()) CV_RETURN_IF_ERROR(throttle->StartLatencyProbe(conninfo));
  throttle->log_->info("{}: throttled: {}", label, throttle->Describe());
  return throttle;
}

Status Throttle::Open(const std::string& conninfo) {
  const bool lag = options_.max_replica_lag > 0;
  if (!lag && options_.max_active < 0) return Status::Ok();
  CV_ASSIGN_OR_RETURN(monitor_, db::Connection::Open(conninfo, application_name_));
  const bool reads_replication = lag && options_.replica_conninfos.empty();
  if (reads_replication || options_.max_active >= 0) {
    // Without pg_read_all_stats (pg_monitor has it) the lag columns of
    // pg_stat_replication and the state of other roles' sessions read NULL:
    // the throttle would see nothing and never pause.
    CV_ASSIGN_OR_RETURN(db::Rows may, monitor_->Query("SELECT pg_has_role('pg_read_all_stats', 'USAGE')::text, current_user"));
    if (may.text(0, 0) != "true") {
      const std::string what = reads_replication && options_.max_active >= 0
                                   ? "--max-replica-lag and --max-active read"
                                   : (reads_replication ? "--max-replica-lag reads" : "--max-active reads");
      return PermissionDeniedError(
          what + " pg_stat_replication / pg_stat_activity, whose lag and session states role \"" + may.text(0, 1) +
              "\" may not see; nothing was written. Fix: GRANT pg_monitor TO \"" + may.text(0, 1) + "\"" +
              (reads_replication ? " (or name the standbys with --replica-url)" : ""),
          "throttle_permission");
    }
  }
  if (lag && options_.replica_conninfos.empty()) {
    CV_ASSIGN_OR_RETURN(db::Rows rows, monitor_->Query(kReplicationSql));
    for (const auto& row : rows.rows) standbys_at_start_ += row[1].has_value();
    if (standbys_at_start_ == 0) {
      return InvalidArgumentError(
          "--max-replica-lag " + Number(options_.max_replica_lag) +
              ": no standby is streaming from this server (pg_stat_replication has none), so there is no lag to "
              "watch; nothing was written. Name the standbys with --replica-url, or leave --max-replica-lag out",
          "throttle_no_standby");
    }
  }
  if (lag && !options_.replica_conninfos.empty()) {
    CV_ASSIGN_OR_RETURN(db::Rows primary, monitor_->Query("SELECT system_identifier::text FROM pg_control_system()"));
    for (const std::string& url : options_.replica_conninfos) {
      auto replica = std::make_unique<Replica>();
      replica->conninfo = url;
      replica->name = db::DescribeTarget(url);
      auto conn = db::Connection::Open(url, application_name_);
      if (!conn.ok()) return conn.status().Annotate("--replica-url " + replica->name + ": nothing was written");
      replica->conn = std::move(conn).value();
      CV_ASSIGN_OR_RETURN(db::Rows state, replica->conn->Query(
                                              "SELECT pg_is_in_recovery()::text, system_identifier::text "
                                              "FROM pg_control_system()"));
      if (state.text(0, 0) != "true") {
        return InvalidArgumentError("--replica-url " + replica->name +
                                        " is not a standby (pg_is_in_recovery() is false); nothing was written",
                                    "throttle_not_standby");
      }
      if (state.text(0, 1) != primary.text(0, 0)) {
        return InvalidArgumentError("--replica-url " + replica->name +
                                        " is a standby of another server (its system identifier differs); nothing "
                                        "was written",
                                    "throttle_not_standby");
      }
      replicas_.push_back(std::move(replica));
    }
  }
  return Check(true).status();
}

Status Throttle::StartLatencyProbe(const std::string& conninfo) {
  auto probe = LatencyProbe::Start(conninfo, application_name_, kProbeCallsPerSecond);
  if (!probe.ok()) return probe.status().Annotate("--max-latency: the latency probe could not start; nothing was written");
  probe_ = std::move(probe).value();
  // The application's latency before the job writes anything: the target's
  // baseline under "auto", and a warning when a fixed target is already missed.
  const auto started = Clock::now();
  std::vector<double> idle = probe_->SecondsSince(started);
  for (; idle.size() < kIdleCalls && probe_->error().empty() && Clock::now() - started < kIdleWindowLimit;
       idle = probe_->SecondsSince(started)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!probe_->error().empty()) {
    return UnavailableError("--max-latency: the latency probe's session failed (" + probe_->error() +
                            "); nothing was written");
  }
  idle_p99_ = Quantile(idle, 0.99);
  // (In hundredths of a millisecond, as it is printed.)
  if (options_.max_latency_auto) options_.max_latency = std::round(std::max(kAutoLatencyFloor, 2 * idle_p99_) * 1e5) / 1e5;
  if (!options_.max_latency_auto && idle_p99_ > options_.max_latency) {
    log_->warn("{}: the application's p99 latency is already {:.2f} ms before the job writes anything, over "
               "--max-latency {} ms: the job will mostly run at its slowest (a twentieth of what it can do). "
               "Raise --max-latency, or give --max-latency auto (twice the idle p99)",
               label_, idle_p99_ * 1000, Number(options_.max_latency * 1000));
  }
  controller_ = std::make_unique<LatencyController>(options_.max_latency, batch_size_, options_.max_rate);
  last_judged_ = Clock::now();
  last_latency_log_ = last_judged_;
  pacer_.set_rate(Rate());
  PublishLatencyState();
  return Status::Ok();
}

double Throttle::Rate() const {
  // (The controller keeps within --max-rate.)
  return controller_ ? controller_->rate() : options_.max_rate;
}

std::size_t Throttle::BatchRows() const {
  if (serial()) return BurstRows(Rate(), batch_size_);
  return batch_size_;
}

void Throttle::AfterBatch(std::uint64_t rows, double busy_seconds) {
  if (!controller_) return;
  rows_since_judged_ += rows;
  busy_since_judged_ += busy_seconds;
  const double capacity = busy_since_judged_ > 0 ? static_cast<double>(rows_since_judged_) / busy_since_judged_ : 0;
  const auto change = controller_->Judge(probe_->SecondsSince(last_judged_), capacity);
  if (change == LatencyController::Change::kWaiting) return;
  const auto now = Clock::now();
  last_judged_ = now;
  rows_since_judged_ = 0;
  busy_since_judged_ = 0;
  pacer_.set_rate(Rate());
  PublishLatencyState();
  log_->debug("{}: latency: probe p99 {:.2f} ms over {} calls -> {:.0f} rows/s in batches of {} ({})", label_,
              controller_->last_p99() * 1000, controller_->last_window(), Rate(), BatchRows(), ChangeName(change));
  // A decrease is news (at most once a second); otherwise a line now and then.
  const bool decreased = change == LatencyController::Change::kDecreased;
  if (now - last_latency_log_ < (decreased ? std::chrono::seconds(1) : kLatencyReportEvery)) return;
  last_latency_log_ = now;
  log_->info("{}: {} (--max-latency {} ms): probe p99 {:.2f} ms; {:.0f} rows/s in batches of {}", label_,
             decreased ? "backing off" : "under the latency target", Number(options_.max_latency * 1000),
             controller_->last_p99() * 1000, Rate(), BatchRows());
}

void Throttle::PublishLatencyState() {
  if (!counters_ || !controller_) return;
  counters_->latency_target_us = static_cast<std::uint64_t>(options_.max_latency * 1e6);
  counters_->probe_p99_us = static_cast<std::uint64_t>(controller_->last_p99() * 1e6);
  counters_->paced_rows_per_second = static_cast<std::uint64_t>(Rate());
  counters_->batch_rows = BatchRows();
  counters_->backing_off = controller_->backing_off();
}

std::string Throttle::Describe() const {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (controller_) {
    add("keep the application's p99 latency under " + Number(options_.max_latency * 1000) + " ms (" +
        (options_.max_latency_auto ? "auto: twice " : "") + "its idle p99 " +
        fmt::format("{:.2f}", idle_p99_ * 1000) + " ms, probed " + Number(kProbeCallsPerSecond) + " times a second)");
  }
  if (options_.max_rate > 0) add("at most " + Number(options_.max_rate) + " rows/s");
  if (options_.max_replica_lag > 0) {
    std::string which;
    if (replicas_.empty()) {
      which = std::to_string(standbys_at_start_) + " standby(s) of pg_stat_replication";
    } else {
      for (const auto& replica : replicas_) which += (which.empty() ? "" : ", ") + replica->name;
    }
    add("pause while a standby lags more than " + Number(options_.max_replica_lag) + " s (" + which + ")");
  }
  if (options_.max_active >= 0) {
    add("pause while more than " + std::to_string(options_.max_active) + " other session(s) are active");
  }
  return out;
}

StatusOr<Throttle::Hold> Throttle::Check(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_check_ < kCheckInterval) return last_hold_;
  Hold hold;
  if (options_.max_replica_lag > 0) {
    CV_ASSIGN_OR_RETURN(hold, CheckReplicaLag());
  }
  if (hold.throttle.empty() && options_.max_active >= 0) {
    CV_ASSIGN_OR_RETURN(hold, CheckActive());
  }
  last_check_ = now;
  last_hold_ = hold;
  return hold;
}

StatusOr<Throttle::Hold> Throttle::CheckReplicaLag() {
  const auto now = Clock::now();
  CV_ASSIGN_OR_RETURN(db::Rows rows, monitor_->Query(replicas_.empty() ? kReplicationSql : kPrimaryLsnSql));
  const std::uint64_t primary_lsn = Lsn(rows.at(0, 0));
  lag_.Sample(primary_lsn, now);
  std::uint64_t replayed_by_all = primary_lsn;
  std::string worst_name;
  double worst = -1;
  auto consider = [&](const std::string& name, std::uint64_t replay, double lag) {
    replayed_by_all = std::min(replayed_by_all, replay);
    if (lag > worst) {
      worst = lag;
      worst_name = name;
    }
  };
  const double limit = options_.max_replica_lag;
  const std::string flag = " (--max-replica-lag " + Number(limit) + ")";
  if (replicas_.empty()) {
    std::size_t streaming = 0;
    for (const auto& row : rows.rows) {
      if (!row[1]) continue;
      ++streaming;
      const std::uint64_t replay = Lsn(row[2]);
      // replay_lag covers a standby that was behind before the first sample.
      consider(*row[1], replay, std::max(lag_.LagSeconds(replay, now), std::stod(*row[3])));
    }
    if (streaming < standbys_at_start_) {
      return Hold{"max_replica_lag",
                  std::to_string(standbys_at_start_) + " standby(s) streamed when the job started, " +
                      std::to_string(streaming) + " now: the missing one cannot be watched" + flag +
                      " (if it was removed on purpose, stop the job and run it again)"};
    }
  } else {
    for (auto& replica : replicas_) {
      if (!replica->conn || !replica->conn->is_open()) {
        auto conn = db::Connection::Open(replica->conninfo, application_name_);
        if (!conn.ok()) return Hold{"max_replica_lag", "replica " + replica->name + " cannot be reached" + flag + ": " + conn.status().message()};
        replica->conn = std::move(conn).value();
      }
      auto replay = replica->conn->Query(kReplicaSql);
      if (!replay.ok()) {
        replica->conn.reset();
        return Hold{"max_replica_lag", "replica " + replica->name + " cannot be asked" + flag + ": " + replay.status().message()};
      }
      if (!replay->at(0, 0)) {
        return Hold{"max_replica_lag", "replica " + replica->name + " is no longer a standby" + flag};
      }
      const std::uint64_t position = Lsn(replay->at(0, 0));
      consider(replica->name, position, lag_.LagSeconds(position, now));
    }
  }
  lag_.Forget(replayed_by_all);
  if (worst > limit) {
    return Hold{"max_replica_lag", "standby " + worst_name + " is " + fmt::format("{:.1f}", worst) + " s behind" + flag};
  }
  return Hold{};
}

StatusOr<Throttle::Hold> Throttle::CheckActive() {
  CV_ASSIGN_OR_RETURN(db::Rows rows, monitor_->Query(kActiveSql, {application_name_}));
  const long long active = std::stoll(rows.text(0, 0));
  if (active <= options_.max_active) return Hold{};
  return Hold{"max_active", std::to_string(active) + " other session(s) are running statements on the database (" +
                                rows.text(0, 1) + (active > 3 ? ", ..." : "") + ") (--max-active " +
                                std::to_string(options_.max_active) + ")"};
}

void Throttle::Report(ThrottlePause::Phase phase, const Hold& hold, double seconds) {
  ThrottlePause pause{phase, hold.throttle, hold.reason, seconds};
  if (on_pause_) {
    on_pause_(pause);
    return;
  }
  log_->info("{}", DescribePause(label_, pause));
}

Status Throttle::BeforeBatch(std::uint64_t rows, const std::function<Status()>& drain) {
  const auto start = Clock::now();
  bool drained = false;
  double draining = 0;  // the job's own write finishing: not a throttle's wait
  auto drain_once = [&]() -> Status {
    if (drained) return Status::Ok();
    drained = true;
    const auto drain_start = Clock::now();
    Status status = drain();
    draining = SecondsSince(drain_start);
    return status;
  };
  if (monitor_) {
    CV_ASSIGN_OR_RETURN(Hold hold, Check(false));
    if (!hold.throttle.empty()) {
      CV_RETURN_IF_ERROR(drain_once());
      const auto paused = Clock::now();
      Report(ThrottlePause::Phase::kStarted, hold, 0);
      auto reported = paused;
      Hold holding = hold;
      while (!hold.throttle.empty() && !Stopping()) {
        std::this_thread::sleep_for(kCheckInterval);
        CV_ASSIGN_OR_RETURN(hold, Check(true));
        if (!hold.throttle.empty()) holding = hold;
        if (!hold.throttle.empty() && SecondsSince(reported) >= kReportEverySeconds) {
          Report(ThrottlePause::Phase::kContinuing, hold, SecondsSince(paused));
          reported = Clock::now();
        }
      }
      // Stopped during the pause: the job says so itself.
      if (!Stopping()) Report(ThrottlePause::Phase::kEnded, holding, SecondsSince(paused));
    }
  }
  if (probe_ && !probe_->error().empty()) {
    return UnavailableError("--max-latency: the latency probe's session failed (" + probe_->error() +
                            "); every batch before is committed, rerun to finish");
  }
  if (options_.max_rate > 0 || controller_) {
    if (pacer_.Delay(Clock::now()) > Clock::duration::zero()) {
      CV_RETURN_IF_ERROR(drain_once());
      for (auto delay = pacer_.Delay(Clock::now()); delay > Clock::duration::zero() && !Stopping();
           delay = pacer_.Delay(Clock::now())) {
        std::this_thread::sleep_for(std::min<Clock::duration>(delay, kCheckInterval));
      }
    }
    pacer_.Admit(rows, Clock::now());
  }
  waited_seconds_ += SecondsSince(start) - draining;
  return Status::Ok();
}

std::string DescribePause(const std::string& label, const ThrottlePause& pause) {
  switch (pause.phase) {
    case ThrottlePause::Phase::kStarted:
      return label + ": paused (" + pause.throttle + "): " + pause.reason;
    case ThrottlePause::Phase::kContinuing:
      return label + ": paused " + fmt::format("{:.0f}", pause.seconds) + " s (" + pause.throttle + "): " + pause.reason;
    case ThrottlePause::Phase::kEnded:
      return label + ": resumed after " + fmt::format("{:.1f}", pause.seconds) + " s paused (" + pause.throttle + ")";
  }
  return label + ": " + pause.reason;
}

}  // namespace credvault::jobs
