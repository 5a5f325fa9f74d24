#include "cli/throttle_flags.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/exit_codes.hpp"
#include "common/status_macros.hpp"
#include "db/database_url.hpp"
#include "jobs/throttle.hpp"
#include "ledger/history.hpp"

namespace credvault::cli {
namespace {

// A number from 0 (= off) to `maximum`, integer or decimal, in words when not.
CLI::Validator ThrottleNumber(double maximum) {
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", maximum);
  const std::string range = std::string("0 (off) to ") + limit;
  return CLI::Validator(
      [maximum, range](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = text.empty() ? -1 : std::strtod(text.c_str(), &end);
        if (end == nullptr || *end != '\0' || !std::isfinite(value) || value < 0 || value > maximum) {
          return "'" + text + "' is not a number from " + range;
        }
        return {};
      },
      "[" + range + "]");
}

}  // namespace

void AddThrottleFlags(CLI::App& command, ThrottleFlags& flags) {
  flags.max_latency_option =
      command
          .add_option("--max-latency", flags.max_latency,
                      "Keep the application's p99 latency under this many milliseconds (auto = twice its p99 "
                      "before the job starts): the job probes the application's read and adapts its rate and "
                      "batch size (0 = not watched)")
          ->check(CLI::IsMember({"auto"}) | ThrottleNumber(kMaxLatencyMilliseconds))
          ->option_text("MS|auto");
  flags.max_rate_option =
      command.add_option("--max-rate", flags.values.max_rate, "Write at most this many rows per second (0 = no limit)")
          ->check(ThrottleNumber(kMaxRowsPerSecond))
          ->option_text("ROWS_PER_S");
  flags.max_replica_lag_option =
      command
          .add_option("--max-replica-lag", flags.values.max_replica_lag,
                      "Pause between batches while a standby lags more than this (0 = not watched)")
          ->check(ThrottleNumber(static_cast<double>(kMaxWaitSeconds)))
          ->option_text("SECONDS");
  flags.replica_url_option =
      command
          .add_option("--replica-url", flags.values.replica_conninfos,
                      "A standby to watch for --max-replica-lag (repeatable; default: every standby in "
                      "pg_stat_replication)")
          ->option_text("URL");
  flags.max_active_option =
      command
          .add_option("--max-active", flags.values.max_active,
                      "Pause between batches while more than N other sessions are active on the database")
          ->check(WholeNumber(0, kMaxActiveSessions))
          ->option_text("N");
}

Status ApplyThrottleFlags(const ThrottleFlags& flags, jobs::JobOptions& job) {
  jobs::ThrottleOptions& throttle = job.throttle;
  if (flags.max_rate_option != nullptr && flags.max_rate_option->count() > 0) throttle.max_rate = flags.values.max_rate;
  if (flags.max_replica_lag_option != nullptr && flags.max_replica_lag_option->count() > 0) {
    throttle.max_replica_lag = flags.values.max_replica_lag;
  }
  if (flags.max_active_option != nullptr && flags.max_active_option->count() > 0) throttle.max_active = flags.values.max_active;
  if (flags.max_latency_option != nullptr && flags.max_latency_option->count() > 0) {
    throttle.max_latency_auto = flags.max_latency == "auto";
    throttle.max_latency = throttle.max_latency_auto ? 0 : std::strtod(flags.max_latency.c_str(), nullptr) / 1000;
  }
  if (flags.replica_url_option != nullptr && flags.replica_url_option->count() > 0) {
    throttle.replica_conninfos.clear();
    const std::vector<std::string>& urls = flags.values.replica_conninfos;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      auto normalized = db::NormalizeDatabaseUrl(urls[i]);
      if (!normalized.ok()) {
        return UsageError("--replica-url (number " + std::to_string(i + 1) + "): " + normalized.status().message());
      }
      throttle.replica_conninfos.push_back(*normalized);
    }
  }
  const bool replicas_given = flags.replica_url_option != nullptr && flags.replica_url_option->count() > 0;
  // --max-replica-lag 0 switches the configured lag throttle off, replicas and all.
  if (throttle.max_replica_lag <= 0 && !replicas_given) throttle.replica_conninfos.clear();
  if (throttle.max_replica_lag <= 0 && !throttle.replica_conninfos.empty()) {
    return UsageError("--replica-url names standbys to watch, but no --max-replica-lag (or [jobs] max_replica_lag) "
                      "says how far behind they may be");
  }
  return Status::Ok();
}

Status ApplyProductionLatencyDefault(CommandContext& context, const ThrottleFlags* flags, const std::string& label,
                                     jobs::JobOptions& job) {
  const bool flag_given = flags != nullptr && flags->max_latency_option != nullptr && flags->max_latency_option->count() > 0;
  if (flag_given || context.settings().max_latency_configured) return Status::Ok();
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault " + label));
  auto recorded = ledger::ReadRecordedEnvironment(*conn);
  // A role that may not read the record gets the production default: the safe side.
  if (recorded.ok() && (!*recorded || **recorded != EnvironmentName(Environment::kProduction))) return Status::Ok();
  job.throttle.max_latency_auto = true;
  context.log().info("{}: the database is {}: the job keeps the applications' p99 latency within twice what it is "
                     "before the job starts (--max-latency auto; --max-latency 0 runs flat out)",
                     label,
                     recorded.ok() ? "recorded as production"
                                   : "taken for production (its recorded environment cannot be read: " +
                                         recorded.status().message() + ")");
  return Status::Ok();
}

jobs::PauseFunction MakePauseReporter(const CommandContext& context, const std::string& label) {
  const bool tty = CommandContext::StderrIsTty() && context.settings().log_format == "text";
  auto logger = context.logger();
  return [tty, logger, label](const jobs::ThrottlePause& pause) {
    if (tty) std::fputc('\n', stderr);
    logger->info("{}", jobs::DescribePause(label, pause));
  };
}

}  // namespace credvault::cli
