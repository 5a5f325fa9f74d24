// Reading a whole input (put's stdin) into zeroizing memory.
#pragma once

#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::cli {

// Everything readable from `fd` until end of input. A read interrupted by a
// signal (EINTR) is retried; any other read error is kInvalidArgument naming
// it, never a silently shortened input.
StatusOr<SecretBytes> ReadAll(int fd);

}  // namespace credvault::cli
