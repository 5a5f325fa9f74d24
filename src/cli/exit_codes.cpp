#include "cli/exit_codes.hpp"

#include "credvault/reasons.hpp"

namespace credvault::cli {

int ExitCodeFor(const Status& status) {
  if (status.reason() == reason::kUsage) return kExitUsage;
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kPermissionDenied:
    case StatusCode::kNotFound: return kExitConfig;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return kExitRefused;
    case StatusCode::kUnavailable: return kExitUnreachable;
    case StatusCode::kDataLoss: return kExitIntegrity;
    case StatusCode::kAborted: return kExitLockBusy;
    case StatusCode::kCancelled: return kExitInterrupted;
    case StatusCode::kUnimplemented:
    case StatusCode::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

Status UnknownKidAsKeyProblem(const Status& error) {
  if (error.reason() != reason::kUnknownKid) return error;
  return NotFoundError(error.message() + "; give that key with --fallback-key-file (or SECRET_KEY_FALLBACKS), and "
                                         "`credvault rotate` if it is an old one",
                       error.reason());
}

Status UsageError(std::string message) { return InvalidArgumentError(std::move(message), reason::kUsage); }

}  // namespace credvault::cli
