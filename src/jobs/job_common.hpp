// Pieces every row job shares: a credentials row as read, the envelope header
// tests, the worker count and the key lifecycle a job starts from.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/jobs.hpp"
#include "migrate/credentials_table.hpp"

namespace credvault::jobs {

// A credentials row as a job reads it: row_id, xmin, account_id and the
// credential columns (migrate::kCredentialColumns order).
struct Row {
  std::string id;
  std::string xmin;  // the row version read: the compare-and-set key
  std::string account_id;
  std::array<db::Value, migrate::kCredentialColumnCount> values;
};

// From SELECT row_id, xmin, account_id, client_id, client_secret, refresh_token.
std::vector<Row> ToRows(db::Rows&& rows);

// options.workers, or when 0 one per core but one (at least one): the machine
// a job runs on often serves the application too (or is the database
// server), and a rotation is bound by the server's writes, not by its crypto.
// Measured on 2 cores, 200 000 rows: two crypto threads instead of one left
// the rate as it was (63 000 rows/s) and tripled the application's p99
// (16-24 ms against 7-8 ms).
unsigned WorkerCount(const JobOptions& options);

// Whether `value` starts with the envelope prefix "cv1:".
bool IsEnvelopePrefixed(const std::string& value);

// Whether `value` starts with "cv<digits>:" other than "cv1:": a format
// version credvault does not know (docs/FORMAT.md). Never plaintext: the jobs
// leave it and report it (reason unsupported_version).
bool IsUnsupportedVersion(const std::string& value);

// The row-predicate template ({c} = the column) of IsUnsupportedVersion.
inline constexpr const char* kUnsupportedVersionSql = "({c} LIKE 'cv%' AND {c} NOT LIKE 'cv1:%' AND {c} ~ '^cv[0-9]+:')";

// The kid of "cv1:<alg>:<kid>:..."; for a malformed cv1: value, some other
// text, and the transform then reports the value.
std::string KidOf(const std::string& value);

// The options with retired_kids read from credvault_keys unless given. A job
// that encrypts (`writes_primary`) refuses a retired primary and records the
// primary's kid as seen.
StatusOr<JobOptions> WithKeyLifecycle(const JobOptions& options, bool writes_primary);

// kDataLoss (reason retired_kid): a value under retired key `kid` is refused.
Status RetiredKidError(const std::string& kid);

}  // namespace credvault::jobs
