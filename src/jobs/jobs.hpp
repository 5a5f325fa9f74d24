// The row jobs over the encrypted columns of `credentials`: encrypt, decrypt,
// rotate and verify (docs/ARCHITECTURE.md, "Row jobs").
//
// All run online: batches of `batch_size` rows in id order, one transaction
// per batch, crypto on worker threads, and compare-and-set writes — a row is
// written only if its row version (xmin) is still the one read, so an
// application writing at the same time is never overwritten (its row is
// picked up by the next pass). Throttled jobs (jobs/throttle.hpp) write one
// short batch at a time. Each job selects only the work left, so after a crash or kill -9 a
// rerun simply finishes; a finished job rerun changes nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "credvault/keyring.hpp"
#include "credvault/status.hpp"
#include "db/connection.hpp"
#include "jobs/throttle_options.hpp"

namespace credvault::jobs {

// Called after every committed batch (and once at the start with done = 0).
using ProgressFunction = std::function<void(std::uint64_t rows_done, std::uint64_t rows_total)>;

// What a job adds up while it runs, from any of its threads, for monitoring
// (the CLI's --metrics-file reads it when progress is reported).
struct JobCounters {
  std::atomic<std::uint64_t> retries{0};            // batch statements rolled back and tried again
  std::atomic<std::uint64_t> lock_wait_seconds{0};  // spent in lock waits that timed out
  // The latency throttle (ThrottleOptions::max_latency) as it stands; all 0
  // when it is not on.
  std::atomic<std::uint64_t> latency_target_us{0};   // the p99 it keeps under
  std::atomic<std::uint64_t> probe_p99_us{0};        // the probe's p99 in the last window judged
  std::atomic<std::uint64_t> paced_rows_per_second{0};  // the rate it allows now
  std::atomic<std::uint64_t> batch_rows{0};          // rows per batch at that rate
  std::atomic<bool> backing_off{false};              // its last change was a decrease
};

struct JobOptions {
  std::string conninfo;
  std::optional<Keyring> keyring;
  std::size_t batch_size = 5000;
  unsigned workers = 0;  // 0 = one per core but one (WorkerCount)
  bool dry_run = false;
  // A batch that waits more than 5 s for a row or table lock (a long
  // transaction holding rows of credentials) is rolled back and retried,
  // each time naming the transactions in the way; after this many seconds of
  // waiting in all, the job stops: kAborted (exit 7), every earlier batch kept.
  int lock_wait_seconds = 60;
  const std::atomic<bool>* stop = nullptr;  // set → stop after the current batch, kCancelled
  std::shared_ptr<spdlog::logger> log;
  ProgressFunction progress;
  std::shared_ptr<JobCounters> counters;  // optional
  // How many failures JobReport::bad_values keeps (all are counted).
  std::size_t max_listed_bad_values = 1000;
  // Kids retired in credvault_keys (`credvault keys retire`); nullopt = the
  // job reads them when it starts. A value under a retired kid is never
  // decrypted: verify reports it (reason "retired_kid"), rotate and decrypt
  // leave it and fail naming it, and encrypt/rotate refuse a retired primary.
  std::optional<std::set<std::string>> retired_kids;
  // os_user and host recorded in the job's event (who ran it).
  std::string os_user, host;
  // The command a refusal's fix ends with ("credvault migrate" when the job
  // runs as a migration step); "" = the job's own command.
  std::string rerun_command;
  // Pauses between batches (encrypt, decrypt, rotate; not verify): see
  // jobs/throttle_options.hpp. A throttle that cannot be evaluated fails the
  // job before its first write. `on_pause` reports lag and session pauses;
  // without it they are logged.
  ThrottleOptions throttle;
  PauseFunction on_pause;
};

// A value that verify could not decrypt, or that a job found malformed.
struct BadValue {
  std::int64_t row_id = 0;      // credentials.id
  std::int64_t account_id = 0;  // credentials.account_id: what `put --account` and `get --account` take
  std::string column;
  std::string reason;  // one of reason::kVerify (credvault/reasons.hpp)
  std::string kid;     // when known
};

struct JobReport {
  std::uint64_t rows_seen = 0;                    // rows the job looked at
  std::uint64_t values_written = 0;               // values replaced
  std::uint64_t values_skipped = 0;               // changed by the application meanwhile; retried next pass
  std::uint64_t passes = 0;
  std::map<std::string, std::uint64_t> by_column; // values written (verify: values checked) per column
  std::map<std::string, std::uint64_t> by_kid;    // values per kid (rotate: before; verify: found)
  std::uint64_t plaintext_values = 0;             // verify/rotate: values not encrypted
  std::uint64_t null_values = 0;                  // verify: NULLs (left alone everywhere)
  std::vector<BadValue> bad_values;               // failures, in row order; the first max_listed_bad_values only
  std::uint64_t bad_value_count = 0;              // all failures
  std::map<std::string, std::uint64_t> bad_by_reason;  // all failures per BadValue::reason
  double seconds = 0;
  double throttled_seconds = 0;  // of `seconds`, waited for the throttles between batches
};

// plaintext → ciphertext under the primary key. Preflight (before any write):
// no malformed cv1: value (one ClassifyValue calls kMalformedEnvelope:
// kDataLoss naming row ids and columns), and every encrypted value fits its column — else
// kFailedPrecondition naming column, rows, longest plaintext, limit and the
// ALTER TABLE that fixes it.
StatusOr<JobReport> Encrypt(const JobOptions& options);
Status EncryptPreflight(db::Connection& conn, const JobOptions& options);  // on `conn`

// ciphertext → plaintext (the data migration's down). Every kid must be in
// the ring (kNotFound otherwise, nothing written). Values that do not decrypt
// are left and reported as for Rotate.
StatusOr<JobReport> Decrypt(const JobOptions& options);
Status DecryptPreflight(db::Connection& conn, const JobOptions& options);  // on `conn`

// Re-encrypts every value whose kid is not the primary's. Preflight (before
// any write): no value with a malformed cv1: header (kDataLoss); every kid
// found must be in the ring (kNotFound naming the missing kids and their
// counts); and when the primary's algorithm differs from a value's, the
// re-encrypted value must fit its column (kFailedPrecondition as for
// Encrypt). Nothing is written on a failure. A value that does not decrypt
// (bad payload, tampered, moved) is left as it is while the job rotates
// everything else; then kDataLoss names the first 20 (verify lists them all). A report with values_written == 0 and no error means
// nothing needed rotating; the CLI says so.
StatusOr<JobReport> Rotate(const JobOptions& options);

// Decrypts every value; never writes. Failures are listed in the report;
// the caller decides the exit code.
StatusOr<JobReport> Verify(const JobOptions& options);

// Counts of values per kid and column (plaintext under kid ""), for `keys`.
StatusOr<std::map<std::string, std::map<std::string, std::uint64_t>>> CountValuesByKid(const std::string& conninfo);

}  // namespace credvault::jobs
