// What the row-job commands share: JobOptions from the CLI settings.
#pragma once

#include "cli/command.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

// Loads the keyring (exit 3 on a key problem) and fills the options;
// batch_size / workers of 0 mean "from the settings". With --metrics-file,
// the job's progress and counters also go to the metrics, and the values
// per kid are counted when the command ends.
StatusOr<jobs::JobOptions> JobOptionsFor(CommandContext& context, const std::string& label, std::size_t batch_size,
                                         unsigned workers, bool dry_run);

// The metrics part of the progress alone (for output that must stay quiet,
// e.g. verify --json); nullptr without --metrics-file.
jobs::ProgressFunction MetricsProgress(CommandContext& context);

}  // namespace credvault::cli
