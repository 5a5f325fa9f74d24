// The exit codes of the command-line contract (docs/CLI.md), and the one mapping from Status to them.
#pragma once

#include "credvault/status.hpp"

namespace credvault::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitUsage = 2,
  kExitConfig = 3,        // configuration or key problem
  kExitUnreachable = 4,   // database unreachable
  kExitRefused = 5,       // refused by a safety check
  kExitIntegrity = 6,     // decrypt, checksum or drift failure
  kExitLockBusy = 7,
  kExitInterrupted = 130, // stopped by SIGINT/SIGTERM after a clean batch boundary
};

// A Status with reason "usage" is a usage error (2) whatever its code.
int ExitCodeFor(const Status& status);

// A value under a key that is not loaded (reason unknown_kid) is a key
// problem (3), not damage: the value is intact and opens with that key. The
// error with that code and what to do; any other error as it is.
Status UnknownKidAsKeyProblem(const Status& error);

// A usage error raised after parsing (e.g. conflicting flags).
Status UsageError(std::string message);

}  // namespace credvault::cli
