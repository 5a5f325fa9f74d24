#include "jobs/batch_write.hpp"

#include <chrono>

#include "common/status_macros.hpp"
#include "jobs/lock_wait.hpp"

namespace credvault::jobs {
namespace {

// Settings of every batch transaction, set per transaction, never per
// session: through a pooler in transaction mode the next transaction may run
// in another server session, and a session SET would stay behind for other
// clients. A batch lost to a server crash before its WAL reached disk leaves
// the values it read, which are still valid (plaintext, or ciphertext under a
// key still in the ring), so batches need not wait for the flush; the job
// flushes once at the end (FlushCommits) before it reports success. The lock
// timeout keeps a batch from queueing unseen behind a long transaction: see
// WaitedForLock. A generic plan, because a custom plan folds the batch's
// arrays (megabytes) into the plan as constants, copying them, to learn only
// their length; the generic plan (a nested loop over the primary key) took
// about a tenth less server CPU per rotation (measured on 200 000 rows).
// credvault.row_job names the job ($1) to the table's triggers: the
// updated_at trigger (migration 20260215_0003) leaves the timestamp alone,
// since re-encrypting a value does not change the credential it holds.
constexpr const char* kBatchSettings =
    "SELECT set_config('synchronous_commit', 'off', true), set_config('lock_timeout', '5s', true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true), set_config('credvault.row_job', $1, true)";
static_assert(kLockWaitSeconds == 5, "kBatchSettings spells out kLockWaitSeconds");

// Compare-and-set on the row version: a row is written only if its xmin is
// still the one read, i.e. no transaction has changed any of its values
// since; a NULL new value keeps the column as it is. Comparing xmin instead
// of sending every old value back halves the bytes each batch sends (the
// write path is what bounds the job); a row the application changed is
// skipped whole and its values are redone by the next pass from what it
// holds then. (A VACUUM FREEZE in between makes xmin read as 2: a needless
// skip, never a wrong write.)
// The batch travels as array parameters ($1, $2: ids and row versions, then
// one of new values per credential column) in binary form
// (db/binary_params.hpp), so no temporary table, and no session, is needed.
// The arrays are unnested in a select list (one row per index, in step: they
// have the same length), which streams the rows; unnest() in FROM would first
// copy them into a tuplestore. The id range (the last two parameters: the
// batch's first and last id) bounds every plan to the batch's rows, whatever
// the planner estimates for the arrays. The result: per column, how many
// values were written.
// With the blind index (`with_index`), the index column follows the value
// it indexes: it is written with every new client_id (NULL when the job
// writes a plaintext one: decrypt) and kept otherwise.
std::string ApplyBatchSql(bool with_index) {
  using ledger::EachColumn;
  using ledger::JoinColumns;
  const std::string first_id = "$" + std::to_string(3 + ledger::kCredentialColumnCount);
  const std::string last_id = "$" + std::to_string(4 + ledger::kCredentialColumnCount);
  const std::string index = ledger::kBlindIndexColumn;
  const std::string indexed = ledger::kCredentialColumns[ledger::kIndexedColumn].name;
  const std::string set_index = with_index ? ", " + index + " = CASE WHEN b.new_" + indexed + " IS NULL THEN c." +
                                                 index + " ELSE b.new_" + index + " END"
                                           : "";
  const std::string index_array = with_index ? ", unnest($" + std::to_string(5 + ledger::kCredentialColumnCount) +
                                                   "::text[]) AS new_" + index
                                             : "";
  return "WITH updated AS (UPDATE " + std::string(ledger::kCredentialsTable) + " c SET " +
         EachColumn("{c} = coalesce(b.new_{c}, c.{c})", ", ") + set_index +
         " FROM (SELECT unnest($1::integer[]) AS id, unnest($2::xid[]) AS row_xmin, " +
         JoinColumns(
             [](std::size_t i, const ledger::CredentialColumn& column) {
               return "unnest($" + std::to_string(3 + i) + "::text[]) AS new_" + column.name;
             },
             ", ") +
         index_array + ") AS b WHERE c.id = b.id AND c.id BETWEEN " + first_id + "::integer AND " + last_id +
         "::integer AND c.xmin = b.row_xmin RETURNING " +
         JoinColumns(
             [](std::size_t i, const ledger::CredentialColumn& column) {
               return "b.new_" + std::string(column.name) + " IS NOT NULL AS w" + std::to_string(i);
             },
             ", ") +
         ") SELECT " +
         JoinColumns([](std::size_t i, const ledger::CredentialColumn&) {
           return "count(*) FILTER (WHERE w" + std::to_string(i) + ")";
         }, ", ") +
         " FROM updated";
}

// A credentials id as the server printed it (an integer column).
std::int32_t ParseInt4(const std::string& text) { return static_cast<std::int32_t>(std::stol(text)); }

}  // namespace

db::BinaryParams BatchArrays(const PreparedBatch& batch) {
  using Array = db::BinaryArrayBuilder;
  const auto& rows = batch.rows;
  const auto& fresh = batch.fresh;
  Array ids(Array::ElementType::kInt4), xmins(Array::ElementType::kXid), indexes(Array::ElementType::kText);
  std::vector<Array> values;
  for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
    std::size_t bytes = 0;
    for (const auto& row : fresh) bytes += 4 + (row[c] ? row[c]->size() : 0);
    values.emplace_back(Array::ElementType::kText, bytes);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    bool any = false;
    for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) any = any || fresh[i][c].has_value();
    if (!any) continue;
    ids.AddInt4(ParseInt4(rows[i].id));
    xmins.AddXid(static_cast<std::uint32_t>(std::stoul(rows[i].xmin)));
    for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
      if (fresh[i][c]) {
        values[c].AddText(*fresh[i][c]);
      } else {
        values[c].AddNull();
      }
    }
    if (!batch.with_index) continue;
    if (batch.fresh_index[i]) {
      indexes.AddText(*batch.fresh_index[i]);
    } else {
      indexes.AddNull();
    }
  }
  db::BinaryParams params = {ids.Finish(), xmins.Finish()};
  for (auto& column : values) params.push_back(column.Finish());
  params.push_back(db::BinaryInt4(ParseInt4(rows.front().id)));
  params.push_back(db::BinaryInt4(ParseInt4(rows.back().id)));
  if (batch.with_index) params.push_back(indexes.Finish());
  return params;
}

StatusOr<db::Rows> ApplyBatch(db::Connection& conn, const std::string& job, const PreparedBatch& batch,
                              spdlog::logger& log) {
  const auto start = std::chrono::steady_clock::now();
  const db::BinaryParams& params = batch.arrays;
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
  CV_RETURN_IF_ERROR(tx->Exec(kBatchSettings, {job}));
  // No separate SELECT ... FOR UPDATE in id order first: it cost a WAL
  // record per row. Two jobs over the same rows visit them in the same
  // order anyway; should a deadlock still happen, the engine retries.
  static const std::string apply_batch = ApplyBatchSql(false);
  static const std::string apply_batch_with_index = ApplyBatchSql(true);
  CV_ASSIGN_OR_RETURN(db::Rows written,
                      tx->QueryBinary(batch.with_index ? apply_batch_with_index : apply_batch, params));
  const auto updated = std::chrono::steady_clock::now();
  CV_RETURN_IF_ERROR(tx->Commit());
  log.trace("write: update {:.3f} s, commit {:.3f} s", std::chrono::duration<double>(updated - start).count(),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - updated).count());
  return written;
}

}  // namespace credvault::jobs
