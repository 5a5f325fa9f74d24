// The batch engine behind encrypt, decrypt, rotate and verify.
#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include <sodium.h>

#include "db/connection.hpp"
#include "db/sqlstate.hpp"
#include "jobs/credentials_table.hpp"
#include "jobs/jobs.hpp"
#include "jobs/preflight.hpp"
#include "jobs/throttle.hpp"
#include "jobs/worker_pool.hpp"
#include "migrate/history.hpp"

namespace credvault::jobs {
namespace {

constexpr int kMaxPasses = 5;
constexpr int kMaxBatchAttempts = 5;
constexpr std::size_t kMaxListedBadValues = 1000;
constexpr int kLockWaitSeconds = 5;  // per statement; see JobOptions::lock_wait_seconds

using Counts = std::array<std::uint64_t, kCredentialColumnCount>;

struct Row {
  std::string id;
  std::string xmin;  // the row version read: the compare-and-set key
  std::string account_id;
  std::array<db::Value, kCredentialColumnCount> values;
};

// What one job does to one value: a new value, nothing (nullopt), or an error.
using ValueTransform = std::function<StatusOr<std::optional<std::string>>(
    const std::string& value, const ValueContext& context, SecretBytes& scratch)>;

struct JobSpec {
  const char* name;           // for logs and the events table
  std::string row_predicate;  // SQL: rows that still have work; {kid} = the primary kid, a parameter
  bool uses_primary_kid = false;
  std::function<bool(const std::string& value)> needs_work;  // the same test, per value
  ValueTransform transform;
};

unsigned WorkerCount(const JobOptions& options) {
  if (options.workers > 0) return options.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

bool IsEnvelopePrefixed(const std::string& value) { return value.compare(0, 4, "cv1:") == 0; }

std::string KidOf(const std::string& value) {
  // "cv1:<alg>:<kid>:..."; for a malformed cv1: value, some other text, and
  // the transform then reports the value.
  auto first = value.find(':', 4);
  auto second = value.find(':', first + 1);
  return value.substr(first + 1, second - first - 1);
}

// The reason a value cannot be transformed, when the fault is the value's
// (the job leaves it and goes on); nullptr for anything else (the job stops).
const char* BadValueReason(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument: return "malformed";
    case StatusCode::kNotFound: return "unknown_kid";
    case StatusCode::kDataLoss: return "auth_failed";
    default: return nullptr;
  }
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// The predicate with {kid} as the parameter `placeholder` ("$3").
std::string Predicate(const JobSpec& spec, const std::string& placeholder) {
  return ReplaceAll(spec.row_predicate, "{kid}", placeholder);
}

std::string SelectBatchSql(const JobSpec& spec) {
  return "SELECT id::text AS row_id, xmin::text, account_id::text, client_id, client_secret, refresh_token "
         "FROM credentials "
         "WHERE id > $1::integer AND (" + Predicate(spec, "$3") + ") ORDER BY id LIMIT $2::integer";
}

db::Params BatchParams(const JobSpec& spec, const std::string& last_id, std::size_t batch_size,
                       const JobOptions& options) {
  db::Params params = {last_id, std::to_string(batch_size)};
  if (spec.uses_primary_kid) params.push_back(options.keyring->primary_kid());
  return params;
}

// Settings of every batch transaction, set per transaction, never per
// session: through a pooler in transaction mode the next transaction may run
// in another server session, and a session SET would stay behind for other
// clients. A batch lost to a server crash before its WAL reached disk leaves
// the values it read, which are still valid (plaintext, or ciphertext under a
// key still in the ring), so batches need not wait for the flush; the job
// flushes once at the end (FlushCommits) before it reports success. The lock
// timeout keeps a batch from queueing unseen behind a long transaction: see
// WaitedForLock.
constexpr const char* kBatchSettings =
    "SELECT set_config('synchronous_commit', 'off', true), set_config('lock_timeout', '5s', true)";
constexpr const char* kReadSettings = "SELECT set_config('lock_timeout', '5s', true)";
static_assert(kLockWaitSeconds == 5, "kBatchSettings and kReadSettings spell out kLockWaitSeconds");

// Compare-and-set on the row version: a row is written only if its xmin is
// still the one read, i.e. no transaction has changed any of its values
// since; a NULL new value keeps the column as it is. Comparing xmin instead
// of sending every old value back halves the bytes each batch sends (the
// write path is what bounds the job); a row the application changed is
// skipped whole and its values are redone by the next pass from what it
// holds then. (A VACUUM FREEZE in between makes xmin read as 2: a needless
// skip, never a wrong write.)
// The batch travels as five array parameters ($1..$5: ids, row versions and
// the three new values) in binary form (db/binary_params.hpp), so no
// temporary table, and no session, is needed.
// The id range ($6, $7 = the batch's first and last id) keeps the plan an
// index range scan over the batch's rows.
constexpr const char* kApplyBatch = R"SQL(
WITH updated AS (
  UPDATE credentials c SET
    client_id = coalesce(b.new_client_id, c.client_id),
    client_secret = coalesce(b.new_client_secret, c.client_secret),
    refresh_token = coalesce(b.new_refresh_token, c.refresh_token)
  FROM unnest($1::integer[], $2::xid[], $3::text[], $4::text[], $5::text[])
       AS b(id, row_xmin, new_client_id, new_client_secret, new_refresh_token)
  WHERE c.id = b.id AND c.id BETWEEN $6::integer AND $7::integer AND c.xmin = b.row_xmin
  RETURNING b.new_client_id IS NOT NULL AS w0, b.new_client_secret IS NOT NULL AS w1,
            b.new_refresh_token IS NOT NULL AS w2)
SELECT count(*) FILTER (WHERE w0), count(*) FILTER (WHERE w1), count(*) FILTER (WHERE w2) FROM updated
)SQL";

// From SELECT row_id, xmin, account_id, client_id, client_secret, refresh_token.
std::vector<Row> ToRows(db::Rows&& rows) {
  std::vector<Row> out;
  out.reserve(rows.size());
  for (auto& r : rows.rows) {
    out.push_back(Row{std::move(*r[0]), std::move(*r[1]), std::move(*r[2]),
                      {std::move(r[3]), std::move(r[4]), std::move(r[5])}});
  }
  return out;
}

class Engine {
 public:
  Engine(const JobOptions& options, JobSpec spec)
      : options_(options), spec_(std::move(spec)), workers_(WorkerCount(options)) {}

  StatusOr<JobReport> Run() {
    const auto start = std::chrono::steady_clock::now();
    const std::string application_name = std::string("credvault ") + spec_.name;
    for (auto& writer : writers_) {
      CV_ASSIGN_OR_RETURN(writer, db::Connection::Open(options_.conninfo, application_name));
    }
    CV_ASSIGN_OR_RETURN(reader_, db::Connection::Open(options_.conninfo, application_name));
    CV_ASSIGN_OR_RETURN(std::unique_ptr<Throttle> throttle,
                        Throttle::Start(options_.throttle, options_.conninfo, application_name, spec_.name,
                                        options_.log, options_.on_pause, options_.stop));
    CV_ASSIGN_OR_RETURN(std::uint64_t total, CountRowsToDo());
    if (options_.progress) options_.progress(0, total);
    std::uint64_t done = 0;
    bool settled = false;  // a pass found nothing changed under it
    for (int pass = 1; pass <= kMaxPasses; ++pass) {
      report_.passes = pass;
      const std::uint64_t skipped_before = report_.values_skipped;
      // Pipelined over three sessions: while batch N is written on one
      // writer, batch N-1 finishes on the other and batch N+1 is fetched and
      // transformed on the reader, so the server works on two writes at once
      // (it parses one batch's arrays while it updates the other's rows). Batches are
      // disjoint id ranges: the two writers never wait for each other.
      // (Declared before `writing`, whose destructor waits for the write.)
      std::unique_ptr<Prepared> written_batch;
      std::future<StatusOr<Counts>> writing;
      auto finish_write = [&]() -> Status {
        if (!writing.valid()) return Status::Ok();
        StatusOr<Counts> counts = writing.get();
        CV_RETURN_IF_ERROR(counts.status());
        Account(*written_batch, *counts);
        done += written_batch->rows.size();
        written_batch.reset();
        if (options_.progress) options_.progress(std::min(done, total), std::max(total, done));
        return Status::Ok();
      };
      auto stop_now = [&]() -> Status {
        CV_RETURN_IF_ERROR(finish_write());
        report_.seconds = Seconds(start);
        // The stop is what the caller must hear about; a missing event only warns here.
        Status recorded = RecordEvent("_interrupted");
        if (!recorded.ok()) options_.log->warn("{}", recorded.message());
        return CancelledError(std::string(spec_.name) + " stopped on request after " + std::to_string(done) +
                              " rows (" + std::to_string(report_.values_written) +
                              " values written, every batch complete); rerun to finish");
      };
      CV_ASSIGN_OR_RETURN(Prepared first, Prepare("0"));
      auto current = std::make_unique<Prepared>(std::move(first));
      for (std::size_t writer = 0; !current->rows.empty(); writer ^= 1) {
        // Throttles wait here, between batches; the write in flight is
        // finished first (finish_write), so no transaction of the job is open.
        if (throttle) {
          CV_RETURN_IF_ERROR(throttle->BeforeBatch(current->rows.size(), finish_write));
          report_.throttled_seconds = throttle->waited_seconds();
          // Stopped during a pause: not one more batch.
          if (options_.stop != nullptr && options_.stop->load()) return stop_now();
        }
        auto next = std::async(std::launch::async, [this, last = current->rows.back().id] { return Prepare(last); });
        auto write = std::async(std::launch::async, [this, batch = current.get(), conn = writers_[writer].get()] {
          return WriteOn(*conn, *batch);
        });
        Status previous = finish_write();
        written_batch = std::move(current);
        writing = std::move(write);
        StatusOr<Prepared> prepared = next.get();
        if (!previous.ok() || !prepared.ok()) {
          (void)finish_write();
          return previous.ok() ? prepared.status() : previous;
        }
        if (options_.stop != nullptr && options_.stop->load()) return stop_now();
        current = std::make_unique<Prepared>(std::move(prepared).value());
      }
      CV_RETURN_IF_ERROR(finish_write());
    if (report_.values_skipped == skipped_before || options_.dry_run) {
        settled = true;
        break;
      }
      options_.log->info("{} value(s) sit in rows the application changed during pass {}; another pass picks them up",
                         report_.values_skipped - skipped_before, pass);
      CV_ASSIGN_OR_RETURN(total, CountRowsToDo());
      done = 0;
      if (total == 0) {
        settled = true;
        break;
      }
    }
    report_.seconds = Seconds(start);
    if (!settled) {
      options_.log->warn("{} row(s) still need {} after {} passes (the application keeps changing them); rerun",
                         total, spec_.name, kMaxPasses);
    }
    if (!options_.dry_run) CV_RETURN_IF_ERROR(RecordEvent(""));
    if (report_.bad_value_count > 0) return BadValuesError();
    return report_;
  }

 private:
  static double Seconds(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  StatusOr<std::uint64_t> CountRowsToDo() {
    db::Params params;
    if (spec_.uses_primary_kid) params.push_back(options_.keyring->primary_kid());
    CV_ASSIGN_OR_RETURN(db::Rows rows,
                        Read(*reader_, "SELECT count(*) FROM credentials WHERE " + Predicate(spec_, "$1"), params));
    return std::stoull(rows.text(0, 0));
  }

  // A read with the job's lock timeout (one transaction; see kReadSettings).
  static StatusOr<db::Rows> Read(db::Connection& conn, const std::string& sql, const db::Params& params) {
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
    CV_RETURN_IF_ERROR(tx->Exec(kReadSettings));
    CV_ASSIGN_OR_RETURN(db::Rows rows, tx->Query(sql, params));
    CV_RETURN_IF_ERROR(tx->Commit());
    return rows;
  }

  // One batch read and transformed, not yet written.
  struct Prepared {
    std::vector<Row> rows;  // ids and row versions (the values read are dropped once transformed)
    std::vector<std::array<std::optional<std::string>, kCredentialColumnCount>> fresh;  // dropped once in `arrays`
    std::vector<BadValue> bad;  // values left alone: they do not decrypt
    Counts expected{};          // new values per column
    std::uint64_t values_to_write = 0;
    db::BinaryParams arrays;    // kApplyBatch's parameters (when values_to_write > 0)
  };

  // Fetches the next batch after `last_id` on reader_ and transforms it on
  // the worker threads. Touches nothing that Write() uses.
  StatusOr<Prepared> Prepare(const std::string& last_id) {
    const auto fetch_start = std::chrono::steady_clock::now();
    auto query = Read(*reader_, SelectBatchSql(spec_), BatchParams(spec_, last_id, options_.batch_size, options_));
    // Reading waits only behind a table lock (ALTER TABLE, LOCK TABLE).
    for (int lock_waits = 1; !query.ok() && db::IsLockTimeout(query.status()); ++lock_waits) {
      CV_RETURN_IF_ERROR(WaitedForLock(*reader_, lock_waits, "reading the rows after id " + last_id));
      query = Read(*reader_, SelectBatchSql(spec_), BatchParams(spec_, last_id, options_.batch_size, options_));
    }
    CV_ASSIGN_OR_RETURN(db::Rows fetched, std::move(query));
    Prepared batch;
    batch.rows = ToRows(std::move(fetched));
    const auto& rows = batch.rows;
    auto& fresh = batch.fresh;
    fresh.resize(rows.size());
    const auto crypto_start = std::chrono::steady_clock::now();
    std::mutex mutex;  // guards error and batch.bad
    Status error;
    workers_.ParallelFor(rows.size(), [&](std::size_t begin, std::size_t end) {
      thread_local SecretBytes scratch;
      for (std::size_t i = begin; i < end; ++i) {
        for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
          const db::Value& value = rows[i].values[c];
          if (!value || !spec_.needs_work(*value)) continue;
          auto result = spec_.transform(*value, ValueContext{kCredentialsTable, kCredentialColumns[c], rows[i].account_id}, scratch);
          if (result.ok()) {
            fresh[i][c] = std::move(*result);
            continue;
          }
          std::lock_guard<std::mutex> lock(mutex);
          const char* reason = BadValueReason(result.status());
          if (reason == nullptr) {
            if (error.ok()) error = result.status().Annotate("credentials row id " + rows[i].id + ", " + kCredentialColumns[c]);
            return;
          }
          batch.bad.push_back({std::stoll(rows[i].id), std::stoll(rows[i].account_id), kCredentialColumns[c], reason, ""});
        }
      }
    });
    CV_RETURN_IF_ERROR(error);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (std::size_t c = 0; c < kCredentialColumnCount; ++c) batch.expected[c] += fresh[i][c].has_value();
      // Only the id and row version travel on: up to three batches are in
      // flight, and this halves what each one holds.
      batch.rows[i].values = {};
      batch.rows[i].account_id = std::string();
    }
    for (std::uint64_t n : batch.expected) batch.values_to_write += n;
    // Up to three batches are in flight: keep the new values once, as the
    // statement's parameters, not also one string per value.
    if (batch.values_to_write > 0) batch.arrays = BatchArrays(batch);
    batch.fresh = {};
    options_.log->trace("prepare {} rows: fetch {:.3f} s, crypto {:.3f} s", rows.size(),
                        std::chrono::duration<double>(crypto_start - fetch_start).count(), Seconds(crypto_start));
    return batch;
  }

  // Writes a prepared batch on `conn` (compare-and-set), retrying what a
  // collision with another writer or a lock wait rolled back; returns how
  // many values of each column were written. Runs on its own thread: touches
  // nothing but `conn`, the batch and the (thread-safe) logger.
  StatusOr<Counts> WriteOn(db::Connection& conn, const Prepared& batch) {
    Counts counts{};
    if (options_.dry_run || batch.values_to_write == 0) return counts;
    const auto start = std::chrono::steady_clock::now();
    const std::string& first_id = batch.rows.front().id;
    int lock_waits = 0;
    for (int attempt = 1;; ++attempt) {
      auto applied = WriteBatch(conn, batch);
      if (applied.ok()) {
        for (std::size_t c = 0; c < kCredentialColumnCount; ++c) counts[c] = std::stoull(applied->text(0, c));
        break;
      }
      // The batch rolled back whole, and compare-and-set makes a retry safe.
      if (db::IsLockTimeout(applied.status())) {
        CV_RETURN_IF_ERROR(WaitedForLock(conn, ++lock_waits, "writing the batch after id " + first_id));
        continue;
      }
      // Deadlock or serialization failure against another job.
      if (!db::IsDeadlockOrSerializationFailure(applied.status()) || attempt == kMaxBatchAttempts) {
        return applied.status();
      }
      options_.log->warn("batch after id {} collided with another writer ({}); retrying", first_id,
                         applied.status().reason());
    }
    options_.log->debug("{} batch up to id {}: {} rows written in {:.3f} s", spec_.name, batch.rows.back().id,
                        batch.rows.size(), Seconds(start));
    return counts;
  }

  // Adds a written batch to the report (on the job's thread).
  void Account(const Prepared& batch, const Counts& written) {
    report_.rows_seen += batch.rows.size();
    for (const BadValue& bad : batch.bad) {
      if (!bad_seen_.insert({bad.row_id, bad.column}).second) continue;
      ++report_.bad_value_count;
      ++report_.bad_by_reason[bad.reason];
      if (report_.bad_values.size() < kMaxListedBadValues) report_.bad_values.push_back(bad);
    }
    for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
      // A dry run writes nothing and reports what it would write.
      const std::uint64_t count = options_.dry_run ? batch.expected[c] : written[c];
      report_.values_written += options_.dry_run ? 0 : count;
      report_.values_skipped += batch.expected[c] - count;
      report_.by_column[kCredentialColumns[c]] += count;
    }
  }

  StatusOr<db::Rows> WriteBatch(db::Connection& conn, const Prepared& batch) {
    const auto start = std::chrono::steady_clock::now();
    const db::BinaryParams& params = batch.arrays;
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn.Begin());
    CV_RETURN_IF_ERROR(tx->Exec(kBatchSettings));
    // No separate SELECT ... FOR UPDATE in id order first: it cost a WAL
    // record per row. Two jobs over the same rows visit them in the same
    // order anyway; should a deadlock still happen, WriteOn() retries.
    CV_ASSIGN_OR_RETURN(db::Rows written, tx->QueryBinary(kApplyBatch, params));
    const auto updated = std::chrono::steady_clock::now();
    CV_RETURN_IF_ERROR(tx->Commit());
    options_.log->trace("write: update {:.3f} s, commit {:.3f} s",
                        std::chrono::duration<double>(updated - start).count(), Seconds(updated));
    return written;
  }

  // kApplyBatch's parameters, in binary form: the rows that have a new value
  // as five arrays, then the batch's first and last id.
  static db::BinaryParams BatchArrays(const Prepared& batch) {
    using Array = db::BinaryArrayBuilder;
    const auto& rows = batch.rows;
    const auto& fresh = batch.fresh;
    Array ids(Array::ElementType::kInt4), xmins(Array::ElementType::kXid);
    std::vector<Array> values;
    for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
      std::size_t bytes = 0;
      for (const auto& row : fresh) bytes += 4 + (row[c] ? row[c]->size() : 0);
      values.emplace_back(Array::ElementType::kText, bytes);
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      bool any = false;
      for (std::size_t c = 0; c < kCredentialColumnCount; ++c) any = any || fresh[i][c].has_value();
      if (!any) continue;
      ids.AddInt4(ParseInt4(rows[i].id));
      xmins.AddXid(static_cast<std::uint32_t>(std::stoul(rows[i].xmin)));
      for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
        if (fresh[i][c]) {
          values[c].AddText(*fresh[i][c]);
        } else {
          values[c].AddNull();
        }
      }
    }
    db::BinaryParams params = {ids.Finish(), xmins.Finish()};
    for (auto& column : values) params.push_back(column.Finish());
    params.push_back(db::BinaryInt4(ParseInt4(rows.front().id)));
    params.push_back(db::BinaryInt4(ParseInt4(rows.back().id)));
    return params;
  }

  // A credentials id as the server printed it (an integer column).
  static std::int32_t ParseInt4(const std::string& text) { return static_cast<std::int32_t>(std::stol(text)); }

  // After the `waits`-th statement that gave up waiting kLockWait for a lock:
  // logs who holds locks on credentials, and says whether to try again
  // (Ok) or stop (kAborted, exit 7) because lock_wait_seconds have passed.
  Status WaitedForLock(db::Connection& conn, int waits, const std::string& doing) {
    const std::string holders = DescribeLockHolders(conn);
    const int waited = waits * kLockWaitSeconds;
    if (waited >= options_.lock_wait_seconds) {
      return AbortedError(std::string(spec_.name) + " waited " + std::to_string(waited) + " s for locks on credentials " +
                              "while " + doing + " and stopped (every earlier batch is kept; rerun to finish). " +
                              holders,
                          "lock_busy");
    }
    options_.log->warn("{}: waited {} s for a lock while {}; retrying. {}", spec_.name, kLockWaitSeconds, doing, holders);
    return Status::Ok();
  }

  // The transactions holding locks on credentials, oldest first.
  static std::string DescribeLockHolders(db::Connection& conn) {
    auto rows = conn.Query(
        "SELECT a.pid::text, coalesce(nullif(a.application_name, ''), '(no application_name)'), "
        "  coalesce(extract(epoch FROM now() - a.xact_start)::bigint::text, '?'), min(l.mode) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.relation = 'credentials'::regclass AND l.granted "
        "  AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' "
        "GROUP BY a.pid, a.application_name, a.xact_start ORDER BY a.xact_start LIMIT 3");
    if (!rows.ok() || rows->empty()) return "The lock holder has gone.";
    std::string out = "Locks on credentials are held by";
    for (std::size_t i = 0; i < rows->size(); ++i) {
      out += (i ? "; " : " ") + ("pid " + rows->text(i, 0) + " (" + rows->text(i, 1) + ", transaction open " +
                                 rows->text(i, 2) + " s, " + rows->text(i, 3) + ")");
    }
    return out + ".";
  }

  // Waits until every batch committed so far is on disk: a synchronous
  // commit of a transaction with an xid flushes the WAL up to its commit
  // record, which follows all of theirs.
  Status FlushCommits() {
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, writers_[0]->Begin());
    CV_RETURN_IF_ERROR(tx->Exec("SELECT set_config('synchronous_commit', 'on', true), txid_current()"));
    return tx->Commit();
  }

  // Records the job in credvault_events, the audit trail operators check
  // (e.g. that a rotation completed). A job whose event cannot be written
  // fails: its batches are committed and stay, and a rerun (which finds
  // nothing left to do) records the event, whereas a warning alone would
  // leave a completed rotation indistinguishable from one that never ran.
  Status RecordEvent(const std::string& suffix) {
    CV_RETURN_IF_ERROR(FlushCommits());
    migrate::EventDetails details;
    details.AddCount("rows", report_.rows_seen)
        .AddCount("values_written", report_.values_written)
        .AddCount("values_skipped", report_.values_skipped)
        .AddCount("passes", report_.passes)
        .AddSeconds("seconds", report_.seconds)
        .AddText("primary_kid", options_.keyring->primary_kid());
    Status status = migrate::AppendEvent(*writers_[0], spec_.name + suffix, "", details);
    if (!status.ok()) {
      return status.Annotate(std::string(spec_.name) + ": every batch is committed (" +
                             std::to_string(report_.values_written) +
                             " values written) but the event could not be recorded in credvault_events; rerun to "
                             "record it");
    }
    return Status::Ok();
  }

  // The job did everything else; these values stay as they were.
  Status BadValuesError() const {
    std::string list;
    for (std::size_t i = 0; i < report_.bad_values.size() && i < 20; ++i) {
      const BadValue& bad = report_.bad_values[i];
      list += (i ? ", " : "") + ("account " + std::to_string(bad.account_id) + " " + bad.column + " (" + bad.reason +
                                 ", credentials.id " + std::to_string(bad.row_id) + ")");
    }
    if (report_.bad_value_count > 20) list += ", ...";
    return DataLossError(std::string(spec_.name) + " wrote " + std::to_string(report_.values_written) +
                             " value(s) but left " + std::to_string(report_.bad_value_count) +
                             " that do not decrypt as they were: " + list +
                             ". Restore them from a backup or store them again (`credvault put --account ID`); "
                             "`credvault verify` lists them",
                         "bad_values");
  }

  const JobOptions& options_;
  JobSpec spec_;
  WorkerPool workers_;
  std::set<std::pair<std::int64_t, std::string>> bad_seen_;  // reported once across passes
  std::array<std::unique_ptr<db::Connection>, 2> writers_;  // batches alternate between them
  std::unique_ptr<db::Connection> reader_;  // reads the next batch meanwhile
  JobReport report_;
};

std::string AnyColumn(const std::string& per_column_template) {
  std::string out;
  for (const char* column : kCredentialColumns) {
    out += (out.empty() ? "(" : " OR (") + ReplaceAll(per_column_template, "{c}", column) + ")";
  }
  return out;
}

}  // namespace

StatusOr<JobReport> Encrypt(const JobOptions& options) {
  CV_RETURN_IF_ERROR(EncryptPreflight(options));
  const Keyring& ring = *options.keyring;
  JobSpec spec{"encrypt", AnyColumn("{c} NOT LIKE 'cv1:%'"), false,
               [](const std::string& value) { return !IsEnvelopePrefixed(value); },
               [&ring](const std::string& value, const ValueContext& context,
                       SecretBytes&) -> StatusOr<std::optional<std::string>> {
                 CV_ASSIGN_OR_RETURN(std::string sealed, ring.Encrypt(value, context));
                 return std::optional<std::string>(std::move(sealed));
               }};
  return Engine(options, std::move(spec)).Run();
}

StatusOr<JobReport> Decrypt(const JobOptions& options) {
  CV_RETURN_IF_ERROR(DecryptPreflight(options));
  const Keyring& ring = *options.keyring;
  JobSpec spec{"decrypt", AnyColumn("{c} LIKE 'cv1:%'"), false, IsEnvelopePrefixed,
               [&ring](const std::string& value, const ValueContext& context,
                       SecretBytes& scratch) -> StatusOr<std::optional<std::string>> {
                 CV_ASSIGN_OR_RETURN(std::size_t length, ring.DecryptInto(value, context, scratch));
                 return std::optional<std::string>(std::string(reinterpret_cast<const char*>(scratch.data()), length));
               }};
  return Engine(options, std::move(spec)).Run();
}

StatusOr<JobReport> Rotate(const JobOptions& options) {
  CV_ASSIGN_OR_RETURN(KidCounts kids, RotatePreflight(options));
  const Keyring& ring = *options.keyring;
  const std::string primary = ring.primary_kid();
  JobSpec spec{"rotate", AnyColumn("{c} LIKE 'cv1:%' AND split_part({c}, ':', 3) <> {kid}"), true,
               [primary](const std::string& value) { return IsEnvelopePrefixed(value) && KidOf(value) != primary; },
               [&ring](const std::string& value, const ValueContext& context,
                       SecretBytes& scratch) -> StatusOr<std::optional<std::string>> {
                 CV_ASSIGN_OR_RETURN(std::size_t length, ring.DecryptInto(value, context, scratch));
                 auto sealed = ring.Encrypt(std::string_view(reinterpret_cast<const char*>(scratch.data()), length), context);
                 sodium_memzero(scratch.data(), length);
                 if (!sealed.ok()) return sealed.status();
                 return std::optional<std::string>(std::move(sealed).value());
               }};
  auto report = Engine(options, std::move(spec)).Run();
  if (report.ok()) report->by_kid = kids.by_kid;
  return report;
}

StatusOr<JobReport> Verify(const JobOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const Keyring& ring = *options.keyring;
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, db::Connection::Open(options.conninfo, "credvault verify"));
  CV_ASSIGN_OR_RETURN(db::Rows total_rows, conn->Query("SELECT count(*) FROM credentials"));
  const std::uint64_t total = std::stoull(total_rows.text(0, 0));
  if (options.progress) options.progress(0, total);
  JobReport report;
  report.passes = 1;
  const unsigned workers = WorkerCount(options);
  WorkerPool pool(workers);
  std::string last_id = "0";
  for (;;) {
    CV_ASSIGN_OR_RETURN(db::Rows fetched,
                        conn->Query("SELECT id::text AS row_id, xmin::text, account_id::text, client_id, client_secret, "
                                    "refresh_token FROM credentials WHERE id > $1::integer ORDER BY id LIMIT $2::integer",
                                    {last_id, std::to_string(options.batch_size)}));
    if (fetched.empty()) break;
    std::vector<Row> rows = ToRows(std::move(fetched));
    last_id = rows.back().id;
    struct Partial {
      std::map<std::string, std::uint64_t> by_kid, by_column;
      std::uint64_t plaintext = 0, nulls = 0;
      std::vector<BadValue> bad;
    };
    std::vector<Partial> partials(workers);
    std::atomic<unsigned> next_partial{0};
    pool.ParallelFor(rows.size(), [&](std::size_t begin, std::size_t end) {
      Partial& mine = partials[next_partial.fetch_add(1) % workers];
      thread_local SecretBytes scratch;
      for (std::size_t i = begin; i < end; ++i) {
        for (std::size_t c = 0; c < kCredentialColumnCount; ++c) {
          const db::Value& value = rows[i].values[c];
          if (!value) {
            ++mine.nulls;
            continue;
          }
          ++mine.by_column[kCredentialColumns[c]];
          const auto row_id = std::stoll(rows[i].id);
          const auto account_id = std::stoll(rows[i].account_id);
          switch (ClassifyValue(*value)) {
            case ValueKind::kPlaintext:
              ++mine.plaintext;
              mine.bad.push_back({row_id, account_id, kCredentialColumns[c], "plaintext", ""});
              continue;
            case ValueKind::kMalformedEnvelope:
              mine.bad.push_back({row_id, account_id, kCredentialColumns[c], "malformed", ""});
              continue;
            case ValueKind::kCiphertext:
              break;
          }
          const std::string kid = KidOf(*value);
          ++mine.by_kid[kid];
          auto length = ring.DecryptInto(*value, ValueContext{kCredentialsTable, kCredentialColumns[c], rows[i].account_id}, scratch);
          if (!length.ok()) {
            mine.bad.push_back({row_id, account_id, kCredentialColumns[c], length.status().reason(), kid});
          } else {
            sodium_memzero(scratch.data(), *length);
          }
        }
      }
    });
    for (auto& partial : partials) {
      for (const auto& [kid, n] : partial.by_kid) report.by_kid[kid] += n;
      for (const auto& [column, n] : partial.by_column) report.by_column[column] += n;
      report.plaintext_values += partial.plaintext;
      report.null_values += partial.nulls;
      report.bad_value_count += partial.bad.size();
      for (auto& bad : partial.bad) {
        ++report.bad_by_reason[bad.reason];
        if (report.bad_values.size() < kMaxListedBadValues) report.bad_values.push_back(std::move(bad));
      }
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
