// The CLI's logger: spdlog to stderr, as text or one JSON object per line.
// The library receives this logger; nothing anywhere logs a secret.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace credvault::cli {

// verbose: 0 = info, 1 = debug, 2+ = trace; quiet: warnings and errors only.
std::shared_ptr<spdlog::logger> MakeLogger(const std::string& format, int verbose, bool quiet);

}  // namespace credvault::cli
