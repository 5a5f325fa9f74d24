// The row-job throttles on the command line: --max-latency, --max-rate,
// --max-replica-lag, --replica-url (repeatable) and --max-active on encrypt,
// decrypt and rotate. Each overrides its [jobs] key in credvault.toml; migrate's data
// steps take the config keys alone. docs/RUNBOOK.md, "Throttling a row job".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

struct ThrottleFlags {
  // The values given; replica_conninfos holds the --replica-url values as
  // typed (ApplyThrottleFlags normalizes them).
  jobs::ThrottleOptions values;
  // Which were given (an option not given leaves the setting from the config).
  CLI::Option* max_rate_option = nullptr;
  CLI::Option* max_replica_lag_option = nullptr;
  CLI::Option* replica_url_option = nullptr;
  CLI::Option* max_active_option = nullptr;
  CLI::Option* max_latency_option = nullptr;
  std::string max_latency;  // "auto" or milliseconds (values.max_latency is in seconds)
};

// Adds the five options to a job command.
void AddThrottleFlags(CLI::App& command, ThrottleFlags& flags);

// The settings' throttles (what JobOptionsFor put in job.throttle) with the
// given flags over them. A --replica-url that is not a database URL, or
// replicas without a maximum lag, is a usage error (exit 2).
Status ApplyThrottleFlags(const ThrottleFlags& flags, jobs::JobOptions& job);

// On a database recorded as production, a job without a latency target
// (no --max-latency flag, no [jobs] max_latency) gets --max-latency auto:
// the applications come first there unless the operator says otherwise
// (--max-latency 0 runs flat out). `flags` may be null (migrate's steps).
// Says so in the log. Errors: the database cannot be asked.
Status ApplyProductionLatencyDefault(CommandContext& context, const ThrottleFlags* flags, const std::string& label,
                                     jobs::JobOptions& job);

// Reports pauses as log lines (jobs::DescribePause); on a terminal the
// progress bar's line is ended first so the message stands on its own line.
jobs::PauseFunction MakePauseReporter(const CommandContext& context, const std::string& label);

}  // namespace credvault::cli
