// Progress of long jobs: a bar on a terminal (rows, rows/s, ETA), otherwise a
// log line every few seconds so that CI logs and journald show life. Under a
// latency target (--max-latency) both also show the probe's p99, the rate
// and batch size the job allows itself, and when it is backing off.
#pragma once

#include <memory>
#include <string>

#include "cli/command.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

// `counters` (may be null): where the job's throttles report their state.
jobs::ProgressFunction MakeProgress(const CommandContext& context, const std::string& label,
                                    std::shared_ptr<const jobs::JobCounters> counters);

}  // namespace credvault::cli
