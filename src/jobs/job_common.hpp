// Pieces every row job shares: a credentials row as read (and the query that
// reads it), the worker count and the key lifecycle a job starts from.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/jobs.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::jobs {

// A credentials row as a job reads it: row_id, xmin, account_id, the
// credential columns (ledger::kCredentialColumns order) and, when read, the
// blind index of client_id (ledger::kBlindIndexColumn).
struct Row {
  std::string id;
  std::string xmin;  // the row version read: the compare-and-set key
  std::string account_id;
  std::array<db::Value, ledger::kCredentialColumnCount> values;
  db::Value blind_index;  // NULL when the row has none, or the job did not read it
};

// The next batch of rows as ToRows takes them: ids above $1, at most $2,
// in id order, where `predicate` (SQL over the row; "" for every row) holds;
// with the blind index column when `with_index` (the schema has it).
std::string SelectRowsSql(const std::string& predicate, bool with_index);

// From SelectRowsSql's result.
std::vector<Row> ToRows(db::Rows&& rows, bool with_index);

// options.workers, or when 0 one per core but one (at least one): the machine
// a job runs on often serves the application too (or is the database
// server), and most of a rotation's CPU is the server's, not its crypto's.
// Measured on 2 cores, 200 000 rows, four runs each way: two crypto threads
// instead of one left the rate within noise (60-69k rows/s against
// 63-68k) and raised the application's p99 from 6.9-8.2 ms to 10-24 ms.
unsigned WorkerCount(const JobOptions& options);

// The row-predicate template ({c} = the column) of crypto::IsOtherVersion.
inline constexpr const char* kUnsupportedVersionSql = "({c} LIKE 'cv%' AND {c} NOT LIKE 'cv1:%' AND {c} ~ '^cv[0-9]+:')";

// The options with retired_kids read from credvault_keys (on `conn`, the job's
// own session) unless given. A job that encrypts (`writes_primary`) refuses a
// retired primary and records the primary's kid as seen.
StatusOr<JobOptions> WithKeyLifecycle(db::Connection& conn, const JobOptions& options, bool writes_primary);

// kDataLoss (reason retired_kid): a value under retired key `kid` is refused.
Status RetiredKidError(const std::string& kid);

}  // namespace credvault::jobs
