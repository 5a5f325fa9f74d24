// The batch engine behind encrypt, decrypt and rotate: a job is a JobSpec
// (which rows and values need work, and what to do to a value); the engine
// reads batches in id order, transforms them on worker threads and writes
// them with compare-and-set, pipelined over one reader and two writers,
// pass after pass until nothing changed under it (jobs.hpp has the contract
// every job keeps).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "credvault/keyring.hpp"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/jobs.hpp"

namespace credvault::jobs {

// What one job does to one value: a new value, nothing (nullopt), or an error.
// `index` is non-null for client_id (ledger::kIndexedColumn) when the schema
// has its blind index column: the transform stores there the index of the
// value it returns (crypto/blind_index.hpp), or leaves it empty for a value
// with no index (plaintext), which sets the column NULL.
using ValueTransform = std::function<StatusOr<std::optional<std::string>>(
    const std::string& value, const ValueContext& context, SecretBytes& scratch, std::string* index)>;

struct JobSpec {
  const char* name;           // for logs and the events table
  std::string row_predicate;  // SQL: rows that still have work; {kid} = the primary kid, a parameter
  bool uses_primary_kid = false;
  std::function<bool(const std::string& value)> needs_work;  // the same test, per value
  ValueTransform transform;
  // How many rows row_predicate holds for, when a preflight has just counted
  // them: the first pass's total without another scan of the table. Only the
  // progress (and whether to probe the latency) use it; later passes count.
  std::optional<std::uint64_t> rows_to_do;
  // When set (encrypt), a client_id that needs no work but has no blind index
  // (written before the index column existed) is given to it: it returns
  // the value to write back (the same) and stores its index, in the same
  // compare-and-set write. Rows with a client_id and no index then count as
  // rows with work. Only when the schema has the index column.
  ValueTransform index_missing;
};

// A row predicate true when `per_column_template` holds for any credential
// column, {c} standing for the column: "(client_id …) OR (client_secret …) …".
std::string AnyColumn(const std::string& per_column_template);

// Runs the job to the end: every pass, the event in credvault_events (not for
// a dry run), the report. Values the transform refuses as bad (malformed,
// unknown or retired kid, auth failure) are left and end it with kDataLoss
// after everything else is written; a stop request ends it with kCancelled
// after the current batch; lock waits past options.lock_wait_seconds with
// kAborted. `session` (not null), the session the job's preflight ran on,
// becomes its first writer.
StatusOr<JobReport> RunBatchJob(const JobOptions& options, JobSpec spec, std::unique_ptr<db::Connection> session);

}  // namespace credvault::jobs
