#include "credvault/status.hpp"

#include <cstdio>
#include <cstdlib>

namespace credvault {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kAlreadyExists: return "already exists";
    case StatusCode::kPermissionDenied: return "permission denied";
    case StatusCode::kFailedPrecondition: return "refused";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDataLoss: return "integrity failure";
    case StatusCode::kAborted: return "aborted";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kUnimplemented: return "not implemented";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, reason_);
}

namespace internal {

void DieOnFailedStatusOrAccess(const Status& status) {
  std::fprintf(stderr, "credvault: value() of a failed StatusOr: %s\n", status.ToString().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal

#define CV_DEFINE_ERROR(Name, Code) \
  Status Name(std::string message, std::string reason) { return Status(StatusCode::Code, std::move(message), std::move(reason)); }
CV_DEFINE_ERROR(InvalidArgumentError, kInvalidArgument)
CV_DEFINE_ERROR(NotFoundError, kNotFound)
CV_DEFINE_ERROR(AlreadyExistsError, kAlreadyExists)
CV_DEFINE_ERROR(PermissionDeniedError, kPermissionDenied)
CV_DEFINE_ERROR(FailedPreconditionError, kFailedPrecondition)
CV_DEFINE_ERROR(UnavailableError, kUnavailable)
CV_DEFINE_ERROR(DataLossError, kDataLoss)
CV_DEFINE_ERROR(AbortedError, kAborted)
CV_DEFINE_ERROR(CancelledError, kCancelled)
CV_DEFINE_ERROR(UnimplementedError, kUnimplemented)
CV_DEFINE_ERROR(InternalError, kInternal)
#undef CV_DEFINE_ERROR

}  // namespace credvault
