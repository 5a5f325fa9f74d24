// One batch of a row job as it travels from the reader to a writer, and the
// one statement that writes it: a compare-and-set UPDATE of credentials from
// array parameters in binary form (no temporary table, no session state).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "credvault/status.hpp"
#include "db/binary_params.hpp"
#include "db/connection.hpp"
#include "jobs/job_common.hpp"

namespace credvault::jobs {

// Values per credential column (ledger::kCredentialColumns order).
using Counts = std::array<std::uint64_t, ledger::kCredentialColumnCount>;

// One batch read and transformed, not yet written.
struct PreparedBatch {
  std::vector<Row> rows;  // ids and row versions (the values read are dropped once transformed)
  std::vector<std::array<std::optional<std::string>, ledger::kCredentialColumnCount>> fresh;  // dropped once in `arrays`
  // With the blind index (with_index: the schema has the column): per row,
  // the index written beside a new client_id (fresh[i][kIndexedColumn]);
  // nullopt there sets it NULL. Dropped once in `arrays`.
  bool with_index = false;
  std::vector<std::optional<std::string>> fresh_index;
  std::vector<BadValue> bad;  // values left alone: they do not decrypt
  Counts expected{};          // new values per column
  std::uint64_t values_to_write = 0;
  db::BinaryParams arrays;    // ApplyBatch's parameters (when values_to_write > 0)
};

// ApplyBatch's parameters, in binary form, from batch.rows and batch.fresh:
// the rows that have a new value as five arrays (ids, row versions, one per
// column with NULL for "keep"), then the batch's first and last id, then
// with_index the array of blind indexes (batch.fresh_index).
db::BinaryParams BatchArrays(const PreparedBatch& batch);

// Writes batch.arrays on `conn` in one transaction (synchronous_commit off,
// lock_timeout kLockWaitSeconds, credvault.row_job = `job`, which keeps the
// rows' updated_at): a row is written only if its xmin is still the one
// read. Returns one row: the values written per column. Errors are the
// server's (a lock timeout or deadlock rolls the batch back whole, and a
// retry is safe). Logs timings at trace level.
StatusOr<db::Rows> ApplyBatch(db::Connection& conn, const std::string& job, const PreparedBatch& batch,
                              spdlog::logger& log);

}  // namespace credvault::jobs
