// Progress of long jobs: a bar on a terminal (rows, rows/s, ETA), otherwise a
// log line every few seconds so that CI logs and journald show life.
#pragma once

#include <string>

#include "cli/command.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

jobs::ProgressFunction MakeProgress(const CommandContext& context, const std::string& label);

}  // namespace credvault::cli
