// Checks a job makes before its first write; a failure writes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/jobs.hpp"

namespace credvault::jobs {

// SQL, true exactly when ClassifyValue(v.val) == kCiphertext, so that the
// server finds malformed values without sending every ciphertext to the
// client: alphabet, canonical trailing bits (a 2- or 3-char tail may only end
// in a char whose unused low bits are 0) and room for nonce + tag (54 payload
// chars for x, 38 for g). tests/pg/jobs_preflight_test.cpp holds the two to
// the same answers.
inline constexpr const char* kWellFormedValueSql =
    "(v.val ~ '^cv1:[xg]:[0-9a-f]{8}:([A-Za-z0-9_-]{4})*([A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$' "
    "AND length(v.val) >= 15 + CASE WHEN v.val LIKE 'cv1:x:%' THEN 54 ELSE 38 END)";

struct KidCounts {
  std::map<std::string, std::uint64_t> by_kid;  // values per kid (encrypted values only)
  std::uint64_t to_rotate = 0;                  // values not under the primary kid
  bool algorithm_changes = false;               // some of those are under another algorithm than the primary's
  // Rows holding such a value, or a value in another format version: the
  // rows rotate visits (its row predicate holds for exactly these).
  std::uint64_t rows_to_rotate = 0;
};

// A value with a malformed header (kDataLoss naming rows, as
// CheckNoMalformedValues); every kid in the table must be in the ring
// (kNotFound, exit 3, naming the missing kids and how many values use each);
// values changing algorithm must fit their column once re-encrypted
// (kFailedPrecondition, exit 5).
// On `conn`, the job's own session.
StatusOr<KidCounts> RotatePreflight(db::Connection& conn, const JobOptions& options);

// `what` (decrypt) is refused (kFailedPrecondition, exit 5) on a database
// whose recorded environment (credvault_settings, `credvault env`) is
// production, whatever the run's own environment; also when credvault_settings
// exists but this role cannot read it (fail closed, naming the grant). Ok
// when nothing is recorded yet.
Status RefuseRecordedProduction(db::Connection& conn, const std::string& what);

// Values that start with "cv1:" but are not well-formed v1 values (exactly
// those ClassifyValue calls kMalformedEnvelope, checked server-side):
// kDataLoss naming up to 20 (row id, column). Never encrypted, decrypted or skipped.
Status CheckNoMalformedValues(db::Connection& conn);

}  // namespace credvault::jobs
