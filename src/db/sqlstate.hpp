// The PostgreSQL SQLSTATEs that credvault branches on, named. A Status from
// src/db carries the server's SQLSTATE as its reason(); callers above src/db
// ask these predicates instead of comparing codes themselves.
#pragma once

#include "credvault/status.hpp"

namespace credvault::db {

namespace sqlstate {
inline constexpr char kLockNotAvailable[] = "55P03";      // lock_timeout expired
inline constexpr char kDeadlockDetected[] = "40P01";
inline constexpr char kSerializationFailure[] = "40001";
inline constexpr char kForeignKeyViolation[] = "23503";
inline constexpr char kQueryCanceled[] = "57014";         // statement_timeout or a cancel request
}  // namespace sqlstate

// A statement gave up waiting for a lock (lock_timeout): retrying later may succeed.
inline bool IsLockTimeout(const Status& status) { return status.reason() == sqlstate::kLockNotAvailable; }

// The transaction lost a race with another one and rolled back whole:
// rerunning it is safe.
inline bool IsDeadlockOrSerializationFailure(const Status& status) {
  return status.reason() == sqlstate::kDeadlockDetected || status.reason() == sqlstate::kSerializationFailure;
}

// A row referenced a key that does not exist (e.g. credentials for no such account).
inline bool IsForeignKeyViolation(const Status& status) { return status.reason() == sqlstate::kForeignKeyViolation; }

}  // namespace credvault::db
