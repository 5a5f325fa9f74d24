// Status and StatusOr<T>: how every public credvault function reports failure.
//
// A Status is a code plus a human-readable message. Messages never contain a
// secret, a SQL statement or a parameter value: they are safe to log and show.
// `reason` is an optional short machine tag (a PostgreSQL SQLSTATE such as
// "55P03", or a credvault tag such as "unknown_kid") for callers that must
// branch on the precise cause without parsing the message.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "credvault/export.h"

namespace credvault {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input: a malformed key, value, config or file
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // refusing to overwrite
  kPermissionDenied,    // e.g. a key file readable by group/other
  kFailedPrecondition,  // refused by a safety check (production guard, capacity, pending migrations)
  kUnavailable,         // the database cannot be reached
  kDataLoss,            // integrity failure: decrypt, checksum, drift
  kAborted,             // lost a race: lock busy, lock timeout
  kCancelled,           // stopped on request (SIGINT/SIGTERM)
  kUnimplemented,
  kInternal,
};

// "ok", "invalid argument", ... for messages.
CREDVAULT_EXPORT const char* StatusCodeName(StatusCode code);

class [[nodiscard]] CREDVAULT_EXPORT Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message, std::string reason = {})
      : code_(code), message_(std::move(message)), reason_(std::move(reason)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& reason() const { return reason_; }

  // "<code name>: <message>", or "ok".
  std::string ToString() const;

  // A copy whose message is prefixed with `context + ": "`.
  Status Annotate(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
};

// Shorthands in the style of absl/Tink.
CREDVAULT_EXPORT Status InvalidArgumentError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status NotFoundError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status AlreadyExistsError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status PermissionDeniedError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status FailedPreconditionError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status UnavailableError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status DataLossError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status AbortedError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status CancelledError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status UnimplementedError(std::string message, std::string reason = {});
CREDVAULT_EXPORT Status InternalError(std::string message, std::string reason = {});

namespace internal {
// Prints "credvault: value() of a failed StatusOr: <status>" to stderr and
// aborts. Out of line so that every StatusOr<T> shares one copy.
[[noreturn]] CREDVAULT_EXPORT void DieOnFailedStatusOrAccess(const Status& status);
}  // namespace internal

// Either a value or a non-ok Status. Accessing the value of a failed
// StatusOr (value(), operator*, operator->) is a programming error: it aborts
// the process with the status message, in debug and release builds alike,
// rather than read an empty optional.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = InternalError("StatusOr built from an ok Status without a value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    CheckHasValue();
    return *value_;
  }
  const T& value() const& {
    CheckHasValue();
    return *value_;
  }
  T&& value() && {
    CheckHasValue();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void CheckHasValue() const {
    if (!status_.ok()) internal::DieOnFailedStatusOrAccess(status_);
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace credvault
