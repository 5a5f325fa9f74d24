// verify: reads every credential value in id order and decrypts it on the
// worker threads, writing nothing; what does not decrypt, and every blind
// index of client_id that is not the one credvault writes, is listed in the
// report.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>

#include <sodium.h>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/keyring_access.hpp"
#include "crypto/stored_value.hpp"
#include "jobs/job_common.hpp"
#include "jobs/jobs.hpp"
#include "jobs/worker_pool.hpp"
#include "ledger/credentials_table.hpp"

namespace credvault::jobs {
namespace {

// What one worker found in its share of a batch.
struct Tally {
  std::map<std::string, std::uint64_t> by_kid, by_column;
  std::uint64_t plaintext = 0, nulls = 0;
  std::vector<BadValue> bad;
};

// A bad blind index of `row` (column ledger::kBlindIndexColumn), under `kid`
// when the client_id is ciphertext.
void BadIndex(const Row& row, const std::string& kid, Tally& mine) {
  mine.bad.push_back({std::stoll(row.id), std::stoll(row.account_id), ledger::kBlindIndexColumn, reason::kBadBlindIndex, kid});
}

// Whether the blind index of `row`, whose client_id is ciphertext under `kid`,
// has the form of an index under that kid (docs/FORMAT.md): present, of the
// index's length, and naming the same kid.
bool IndexWellFormed(const Row& row, const std::string& kid) {
  return row.blind_index && row.blind_index->size() == crypto::kClientIdIndexLength &&
         crypto::ClientIdIndexKid(*row.blind_index) == kid;
}

// Checks column `c` of `row` into `mine`: counted, and decrypted (into
// `scratch`, wiped after) unless it is NULL, plaintext, malformed or under a
// retired kid, each of which is a bad value except NULL. With `check_index`
// (client_id, on a schema with its blind index) the row's index is checked
// too: none beside a NULL or plaintext client_id; beside a ciphertext, one
// under its kid, equal to the index of the decrypted value when it decrypts.
void CheckValue(const Row& row, std::size_t c, bool check_index, const Keyring& ring,
                const std::set<std::string>& retired, SecretBytes& scratch, Tally& mine) {
  const db::Value& value = row.values[c];
  if (!value) {
    ++mine.nulls;
    if (check_index && row.blind_index) BadIndex(row, "", mine);
    return;
  }
  ++mine.by_column[ledger::kCredentialColumns[c].name];
  const auto row_id = std::stoll(row.id);
  const auto account_id = std::stoll(row.account_id);
  switch (crypto::ClassifyValue(*value)) {
    case crypto::ValueKind::kPlaintext:
      ++mine.plaintext;
      mine.bad.push_back({row_id, account_id, ledger::kCredentialColumns[c].name, reason::kPlaintext, ""});
      if (check_index && row.blind_index) BadIndex(row, "", mine);
      return;
    case crypto::ValueKind::kMalformedEnvelope:
      mine.bad.push_back({row_id, account_id, ledger::kCredentialColumns[c].name,
                          crypto::IsOtherVersion(*value) ? reason::kUnsupportedVersion : reason::kMalformed, ""});
      return;
    case crypto::ValueKind::kCiphertext:
      break;
  }
  const std::string kid(crypto::PeekKid(*value));
  ++mine.by_kid[kid];
  const bool index_well_formed = !check_index || IndexWellFormed(row, kid);
  if (!index_well_formed) BadIndex(row, kid, mine);
  if (retired.count(kid)) {
    mine.bad.push_back({row_id, account_id, ledger::kCredentialColumns[c].name, reason::kRetiredKid, kid});
    return;
  }
  auto length = crypto::DecryptInto(ring, *value, ValueContext{ledger::kCredentialsTable, ledger::kCredentialColumns[c].aad_name, row.account_id}, scratch);
  if (!length.ok()) {
    mine.bad.push_back({row_id, account_id, ledger::kCredentialColumns[c].name, length.status().reason(), kid});
    return;
  }
  if (check_index && index_well_formed) {
    auto index = crypto::ClientIdIndex(ring, kid, std::string_view(reinterpret_cast<const char*>(scratch.data()), *length));
    if (!index.ok() || *index != *row.blind_index) BadIndex(row, kid, mine);
  }
  sodium_memzero(scratch.data(), *length);
}

// Every value of `rows`, checked on the pool's threads: one tally per worker.
std::vector<Tally> CheckBatch(WorkerPool& pool, unsigned workers, const std::vector<Row>& rows, bool with_index,
                              const Keyring& ring, const std::set<std::string>& retired) {
  std::vector<Tally> tallies(workers);
  std::atomic<unsigned> next_tally{0};
  pool.ParallelFor(rows.size(), [&](std::size_t begin, std::size_t end) {
    Tally& mine = tallies[next_tally.fetch_add(1) % workers];
    thread_local SecretBytes scratch;
    for (std::size_t i = begin; i < end; ++i) {
      for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
        CheckValue(rows[i], c, with_index && c == ledger::kIndexedColumn, ring, retired, scratch, mine);
      }
    }
  });
  return tallies;
}

// Adds a worker's tally to the report, listing at most `max_listed` bad values in all.
void AddTally(Tally& tally, std::size_t max_listed, JobReport& report) {
  for (const auto& [kid, n] : tally.by_kid) report.by_kid[kid] += n;
  for (const auto& [column, n] : tally.by_column) report.by_column[column] += n;
  report.plaintext_values += tally.plaintext;
  report.null_values += tally.nulls;
  report.bad_value_count += tally.bad.size();
  for (auto& bad : tally.bad) {
    ++report.bad_by_reason[bad.reason];
    if (report.bad_values.size() < max_listed) report.bad_values.push_back(std::move(bad));
  }
}

}  // namespace

StatusOr<JobReport> Verify(const JobOptions& given) {
  const auto start = std::chrono::steady_clock::now();
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(given.conninfo, "credvault verify"));
  CV_ASSIGN_OR_RETURN(const JobOptions options, WithKeyLifecycle(*conn, given, false));
  const Keyring& ring = *options.keyring;
  const std::set<std::string>& retired = *options.retired_kids;
  CV_ASSIGN_OR_RETURN(const bool with_index, ledger::HasBlindIndexColumn(*conn));
  CV_ASSIGN_OR_RETURN(db::Rows total_rows, conn->ScanOnOneCore("SELECT count(*) FROM credentials"));
  const std::uint64_t total = std::stoull(total_rows.text(0, 0));
  if (options.progress) options.progress(0, total);
  JobReport report;
  report.passes = 1;
  const unsigned workers = WorkerCount(options);
  WorkerPool pool(workers);
  std::string last_id = "0";
  for (;;) {
    CV_ASSIGN_OR_RETURN(db::Rows fetched,
                        conn->ScanOnOneCore(SelectRowsSql("", with_index), {last_id, std::to_string(options.batch_size)}));
    if (fetched.empty()) break;
    std::vector<Row> rows = ToRows(std::move(fetched), with_index);
    last_id = rows.back().id;
    for (Tally& tally : CheckBatch(pool, workers, rows, with_index, ring, retired)) {
      AddTally(tally, options.max_listed_bad_values, report);
    }
    report.rows_seen += rows.size();
    if (options.progress) options.progress(std::min(report.rows_seen, total), std::max(total, report.rows_seen));
    if (options.stop != nullptr && options.stop->load()) {
      return CancelledError("verify stopped on request after " + std::to_string(report.rows_seen) + " rows");
    }
  }
  std::sort(report.bad_values.begin(), report.bad_values.end(), [](const BadValue& a, const BadValue& b) {
    return a.row_id != b.row_id ? a.row_id < b.row_id : a.column < b.column;
  });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace credvault::jobs
