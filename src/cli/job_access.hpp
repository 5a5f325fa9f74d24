// What the row-job commands share: JobOptions from the CLI settings.
#pragma once

#include "cli/command.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

// Loads the keyring (exit 3 on a key problem) and fills the options;
// batch_size / workers of 0 mean "from the settings".
StatusOr<jobs::JobOptions> JobOptionsFor(CommandContext& context, const std::string& label, std::size_t batch_size,
                                         unsigned workers, bool dry_run);

}  // namespace credvault::cli
