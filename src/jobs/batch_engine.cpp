#include "jobs/batch_engine.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <utility>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "db/connection.hpp"
#include "db/sqlstate.hpp"
#include "jobs/batch_write.hpp"
#include "jobs/idle_priority.hpp"
#include "jobs/job_common.hpp"
#include "jobs/lock_wait.hpp"
#include "jobs/throttle.hpp"
#include "jobs/worker_pool.hpp"
#include "ledger/credentials_table.hpp"
#include "ledger/history.hpp"

namespace credvault::jobs {
namespace {

constexpr int kMaxPasses = 5;
constexpr int kMaxBatchAttempts = 5;

// The settings of every read: the lock timeout (see WaitedForLock), and one
// core for the scan (see db::Connection::ScanOnOneCore).
const std::string kReadSettings =
    "SELECT set_config('lock_timeout', '5s', true), " + std::string(db::kNoParallelWorkersSetting);
static_assert(kLockWaitSeconds == 5, "kReadSettings spells out kLockWaitSeconds");

// The reason a value cannot be transformed, when the fault is the value's
// (the job leaves it and goes on); nullptr for anything else (the job stops).
const char* BadValueReason(const Status& status) {
  if (status.reason() == reason::kRetiredKid) return reason::kRetiredKid;
  if (status.reason() == reason::kBadVersion) return reason::kUnsupportedVersion;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: return reason::kMalformed;
    case StatusCode::kNotFound: return reason::kUnknownKid;
    case StatusCode::kDataLoss: return reason::kAuthFailed;
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

db::Params BatchParams(const JobSpec& spec, const std::string& last_id, std::size_t batch_size,
                       const JobOptions& options) {
  db::Params params = {last_id, std::to_string(batch_size)};
  if (spec.uses_primary_kid) params.push_back(options.keyring->primary_kid());
  return params;
}

// A job under a rate or latency target runs one batch at a time
// (Throttle::serial), and its crypto on one thread unless --workers says
// otherwise: a burst then takes one core, never all of them.
unsigned CryptoThreads(const JobOptions& options) {
  if (options.throttle.paced() && options.workers == 0) return 1;
  return WorkerCount(options);
}

class Engine {
 public:
  Engine(const JobOptions& options, JobSpec spec, std::unique_ptr<db::Connection> session)
      : options_(options),
        spec_(std::move(spec)),
        workers_(CryptoThreads(options), options.throttle.paced()),
        writers_{std::move(session), nullptr} {}

  StatusOr<JobReport> Run() {
    const auto start = std::chrono::steady_clock::now();
    CV_ASSIGN_OR_RETURN(reader_, db::Connection::Open(options_.conninfo, application_name_));
    CV_ASSIGN_OR_RETURN(has_index_, ledger::HasBlindIndexColumn(*reader_));
    select_batch_sql_ = SelectRowsSql(RowPredicate("$3"), ReadsIndex());
    std::uint64_t total = 0;
    if (spec_.rows_to_do) {
      total = *spec_.rows_to_do;
    } else {
      CV_ASSIGN_OR_RETURN(total, CountRowsToDo());
    }
    // Nothing to do: no latency probe (it would spend a second measuring).
    ThrottleOptions throttles = options_.throttle;
    if (total == 0) {
      throttles.max_latency = 0;
      throttles.max_latency_auto = false;
    }
    CV_ASSIGN_OR_RETURN(std::unique_ptr<Throttle> throttle,
                        Throttle::Start(throttles, options_.conninfo, application_name_, spec_.name, options_.log,
                                        options_.on_pause, options_.stop, options_.batch_size, options_.counters));
    if (options_.progress) options_.progress(0, total);
    bool settled = false;  // a pass found nothing changed under it
    auto passes = [&] { return RunPasses(throttle.get(), total, start, settled); };
    CV_RETURN_IF_ERROR(throttle && throttle->serial() ? RunAtIdlePriority(passes) : passes());
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
  // Passes until one finds nothing changed under it (`settled`) or
  // kMaxPasses; `total`: the rows the first pass starts with, and after it
  // the rows left when the last pass started.
  Status RunPasses(Throttle* throttle, std::uint64_t& total, std::chrono::steady_clock::time_point start,
                   bool& settled) {
    for (int pass = 1; pass <= kMaxPasses; ++pass) {
      report_.passes = pass;
      const std::uint64_t skipped_before = report_.values_skipped;
      CV_RETURN_IF_ERROR(throttle && throttle->serial() ? RunSerialPass(*throttle, total, start)
                                                        : RunPass(throttle, total, start));
      if (report_.values_skipped == skipped_before || options_.dry_run) {
        settled = true;
        break;
      }
      options_.log->info("{} value(s) sit in rows the application changed during pass {}; another pass picks them up",
                         report_.values_skipped - skipped_before, pass);
      CV_ASSIGN_OR_RETURN(total, CountRowsToDo());
      if (total == 0) {
        settled = true;
        break;
      }
    }
    return Status::Ok();
  }

  // One pass over the rows that still need work (`total` of them when it
  // starts), pipelined over three sessions: while batch N is written on one
  // writer, batch N-1 finishes on the other and batch N+1 is fetched and
  // transformed on the reader, so the server works on two writes at once (it
  // parses one batch's arrays while it updates the other's rows). Batches are
  // disjoint id ranges: the two writers never wait for each other. A stop
  // request ends it with kCancelled once the write in flight is finished.
  Status RunPass(Throttle* throttle, std::uint64_t total, std::chrono::steady_clock::time_point start) {
    std::uint64_t done = 0;
    // (Declared before `writing`, whose destructor waits for the write.)
    std::unique_ptr<PreparedBatch> written_batch;
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
      return Stopped(done, start);
    };
    CV_ASSIGN_OR_RETURN(PreparedBatch first, Prepare("0", throttle ? throttle->BatchRows() : options_.batch_size));
    auto current = std::make_unique<PreparedBatch>(std::move(first));
    for (std::size_t writer = 0; !current->rows.empty(); writer ^= 1) {
      // Throttles wait here, between batches; the write in flight is
      // finished first (finish_write), so no transaction of the job is open.
      if (throttle) {
        CV_RETURN_IF_ERROR(throttle->BeforeBatch(current->rows.size(), finish_write));
        report_.throttled_seconds = throttle->waited_seconds();
        // Stopped during a pause: not one more batch.
        if (options_.stop != nullptr && options_.stop->load()) return stop_now();
      }
      const std::size_t next_rows = throttle ? throttle->BatchRows() : options_.batch_size;
      auto next = std::async(std::launch::async,
                             [this, last = current->rows.back().id, next_rows] { return Prepare(last, next_rows); });
      auto write = std::async(std::launch::async, [this, batch = current.get(), writer]() -> StatusOr<Counts> {
        // The second writer's session opens with the second batch: a job of one batch needs one.
        if (!writers_[writer]) {
          CV_ASSIGN_OR_RETURN(writers_[writer], db::Connection::Open(options_.conninfo, application_name_));
        }
        return WriteOn(*writers_[writer], *batch);
      });
      Status previous = finish_write();
      written_batch = std::move(current);
      writing = std::move(write);
      StatusOr<PreparedBatch> prepared = next.get();
      if (!previous.ok() || !prepared.ok()) {
        (void)finish_write();
        return previous.ok() ? prepared.status() : previous;
      }
      if (options_.stop != nullptr && options_.stop->load()) return stop_now();
      current = std::make_unique<PreparedBatch>(std::move(prepared).value());
    }
    return finish_write();
  }

  // One pass as RunPass, but one batch at a time on one writer: read and
  // transform, write, then wait as the throttle says. The job's work comes
  // in bursts no longer than a batch the throttle sized, with the server
  // free between them; the applications sharing the machine get the cores
  // back between bursts instead of queueing behind two writers and a reader.
  Status RunSerialPass(Throttle& throttle, std::uint64_t total, std::chrono::steady_clock::time_point start) {
    std::uint64_t done = 0;
    std::string last_id = "0";
    for (;;) {
      const auto burst = std::chrono::steady_clock::now();
      CV_ASSIGN_OR_RETURN(PreparedBatch batch, Prepare(last_id, throttle.BatchRows()));
      if (batch.rows.empty()) return Status::Ok();
      CV_ASSIGN_OR_RETURN(Counts counts, WriteOn(*writers_[0], batch));
      Account(batch, counts);
      done += batch.rows.size();
      last_id = batch.rows.back().id;
      if (options_.progress) options_.progress(std::min(done, total), std::max(total, done));
      throttle.AfterBatch(batch.rows.size(), Seconds(burst));
      if (options_.stop != nullptr && options_.stop->load()) return Stopped(done, start);
      CV_RETURN_IF_ERROR(throttle.BeforeBatch(throttle.BatchRows(), [] { return Status::Ok(); }));
      report_.throttled_seconds = throttle.waited_seconds();
      if (options_.stop != nullptr && options_.stop->load()) return Stopped(done, start);
    }
  }

  // The job stopped on request after `done` rows of this pass, every batch
  // whole: records the "_interrupted" event and returns kCancelled.
  Status Stopped(std::uint64_t done, std::chrono::steady_clock::time_point start) {
    report_.seconds = Seconds(start);
    // The stop is what the caller must hear about; a missing event only warns here.
    Status recorded = RecordEvent("_interrupted");
    if (!recorded.ok()) options_.log->warn("{}", recorded.message());
    return CancelledError(std::string(spec_.name) + " stopped on request after " + std::to_string(done) +
                          " rows (" + std::to_string(report_.values_written) +
                          " values written, every batch complete); rerun to finish");
  }

  static double Seconds(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Whether the batches read the index column: only a job that fills a
  // missing index (encrypt) looks at it; the others write it with every
  // client_id and need not read it.
  bool ReadsIndex() const { return has_index_ && spec_.index_missing != nullptr; }

  // The rows with work: the spec's, and with an index_missing on a schema
  // with the index, every row with a client_id but no index (the rows
  // credentials_client_id_unindexed_idx holds). {kid} as `placeholder`.
  std::string RowPredicate(const std::string& placeholder) const {
    std::string predicate = Predicate(spec_, placeholder);
    if (!has_index_ || !spec_.index_missing) return predicate;
    return "(" + predicate + ") OR (" + ledger::UnindexedRowPredicate() + ")";
  }

  StatusOr<std::uint64_t> CountRowsToDo() {
    db::Params params;
    if (spec_.uses_primary_kid) params.push_back(options_.keyring->primary_kid());
    CV_ASSIGN_OR_RETURN(db::Rows rows,
                        Read(*reader_, "SELECT count(*) FROM credentials WHERE " + RowPredicate("$1"), params));
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

  // Fetches the next `batch_rows` rows after `last_id` on reader_ and
  // transforms them on the worker threads. Touches nothing that WriteOn uses.
  StatusOr<PreparedBatch> Prepare(const std::string& last_id, std::size_t batch_rows) {
    const auto fetch_start = std::chrono::steady_clock::now();
    auto query = Read(*reader_, select_batch_sql_, BatchParams(spec_, last_id, batch_rows, options_));
    // Reading waits only behind a table lock (ALTER TABLE, LOCK TABLE).
    for (int lock_waits = 1; !query.ok() && db::IsLockTimeout(query.status()); ++lock_waits) {
      CV_RETURN_IF_ERROR(WaitedForLock(*reader_, lock_waits, "reading the rows after id " + last_id, spec_.name, options_));
      query = Read(*reader_, select_batch_sql_, BatchParams(spec_, last_id, batch_rows, options_));
    }
    CV_ASSIGN_OR_RETURN(db::Rows fetched, std::move(query));
    PreparedBatch batch;
    batch.rows = ToRows(std::move(fetched), ReadsIndex());
    const auto& rows = batch.rows;
    batch.fresh.resize(rows.size());
    batch.with_index = has_index_;
    if (has_index_) batch.fresh_index.resize(rows.size());
    const auto crypto_start = std::chrono::steady_clock::now();
    std::mutex mutex;  // guards error and batch.bad
    Status error;
    workers_.ParallelFor(rows.size(), [&](std::size_t begin, std::size_t end) {
      thread_local SecretBytes scratch;
      for (std::size_t i = begin; i < end; ++i) {
        for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
          if (!TransformValue(batch, i, c, scratch, mutex, error)) return;
        }
      }
    });
    CV_RETURN_IF_ERROR(error);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) batch.expected[c] += batch.fresh[i][c].has_value();
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
    batch.fresh_index = {};
    options_.log->trace("prepare {} rows: fetch {:.3f} s, crypto {:.3f} s", rows.size(),
                        std::chrono::duration<double>(crypto_start - fetch_start).count(), Seconds(crypto_start));
    return batch;
  }

  // Transforms value `c` of row `i` of `batch` (on a worker thread) into
  // batch.fresh (and its blind index into batch.fresh_index), if it has
  // work. A value the transform refuses goes to batch.bad; any other error
  // to `error` (the first one), and then it returns false: the worker stops.
  // `mutex` guards batch.bad and `error`.
  bool TransformValue(PreparedBatch& batch, std::size_t i, std::size_t c, SecretBytes& scratch, std::mutex& mutex,
                      Status& error) {
    const Row& row = batch.rows[i];
    const db::Value& value = row.values[c];
    if (!value) return true;
    const bool indexed = has_index_ && c == ledger::kIndexedColumn;
    const ValueContext context{ledger::kCredentialsTable, ledger::kCredentialColumns[c].aad_name, row.account_id};
    std::string index;
    StatusOr<std::optional<std::string>> result = std::optional<std::string>();
    if (spec_.needs_work(*value)) {
      result = spec_.transform(*value, context, scratch, indexed ? &index : nullptr);
    } else if (indexed && spec_.index_missing && !row.blind_index) {
      result = spec_.index_missing(*value, context, scratch, &index);
    } else {
      return true;
    }
    if (result.ok()) {
      batch.fresh[i][c] = std::move(*result);
      if (indexed && !index.empty()) batch.fresh_index[i] = std::move(index);
      return true;
    }
    std::lock_guard<std::mutex> lock(mutex);
    const char* reason = BadValueReason(result.status());
    if (reason == nullptr) {
      if (error.ok()) error = result.status().Annotate("credentials row id " + row.id + ", " + ledger::kCredentialColumns[c].name);
      return false;
    }
    batch.bad.push_back({std::stoll(row.id), std::stoll(row.account_id), ledger::kCredentialColumns[c].name, reason, ""});
    return true;
  }

  // Writes a prepared batch on `conn` (compare-and-set), retrying what a
  // collision with another writer or a lock wait rolled back; returns how
  // many values of each column were written. Runs on its own thread: touches
  // nothing but `conn`, the batch and the (thread-safe) logger.
  StatusOr<Counts> WriteOn(db::Connection& conn, const PreparedBatch& batch) {
    Counts counts{};
    if (options_.dry_run || batch.values_to_write == 0) return counts;
    const auto start = std::chrono::steady_clock::now();
    const std::string& first_id = batch.rows.front().id;
    int lock_waits = 0;
    for (int attempt = 1;; ++attempt) {
      auto applied = ApplyBatch(conn, spec_.name, batch, *options_.log);
      if (applied.ok()) {
        for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) counts[c] = std::stoull(applied->text(0, c));
        break;
      }
      // The batch rolled back whole, and compare-and-set makes a retry safe.
      if (db::IsLockTimeout(applied.status())) {
        CV_RETURN_IF_ERROR(WaitedForLock(conn, ++lock_waits, "writing the batch after id " + first_id, spec_.name, options_));
        continue;
      }
      // Deadlock or serialization failure against another job.
      if (!db::IsDeadlockOrSerializationFailure(applied.status()) || attempt == kMaxBatchAttempts) {
        return applied.status();
      }
      options_.log->warn("batch after id {} collided with another writer ({}); retrying", first_id,
                         applied.status().reason());
      if (options_.counters) ++options_.counters->retries;
    }
    options_.log->debug("{} batch up to id {}: {} rows written in {:.3f} s", spec_.name, batch.rows.back().id,
                        batch.rows.size(), Seconds(start));
    return counts;
  }

  // Adds a written batch to the report (on the job's thread).
  void Account(const PreparedBatch& batch, const Counts& written) {
    report_.rows_seen += batch.rows.size();
    for (const BadValue& bad : batch.bad) {
      if (!bad_seen_.insert({bad.row_id, bad.column}).second) continue;
      ++report_.bad_value_count;
      ++report_.bad_by_reason[bad.reason];
      if (report_.bad_values.size() < options_.max_listed_bad_values) report_.bad_values.push_back(bad);
    }
    for (std::size_t c = 0; c < ledger::kCredentialColumnCount; ++c) {
      // A dry run writes nothing and reports what it would write.
      const std::uint64_t count = options_.dry_run ? batch.expected[c] : written[c];
      report_.values_written += options_.dry_run ? 0 : count;
      report_.values_skipped += batch.expected[c] - count;
      report_.by_column[ledger::kCredentialColumns[c].name] += count;
    }
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
    ledger::EventDetails details;
    details.AddCount("rows", report_.rows_seen)
        .AddCount("values_written", report_.values_written)
        .AddCount("values_skipped", report_.values_skipped)
        .AddCount("passes", report_.passes)
        .AddSeconds("seconds", report_.seconds)
        .AddText("primary_kid", options_.keyring->primary_kid());
    if (!options_.os_user.empty()) details.AddText("os_user", options_.os_user);
    if (!options_.host.empty()) details.AddText("host", options_.host);
    Status status = ledger::AppendEvent(*writers_[0], spec_.name + suffix, "", details);
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
  bool has_index_ = false;        // the schema has the blind index column (asked once, in Run)
  std::string select_batch_sql_;  // the next batch after $1, at most $2 rows; $3 the primary kid
  WorkerPool workers_;
  std::set<std::pair<std::int64_t, std::string>> bad_seen_;  // reported once across passes
  const std::string application_name_ = std::string("credvault ") + spec_.name;
  // Batches alternate between them; [1] opens with the second batch (a write on [1] starts only
  // once the one before it on [1] has finished, so its task may open it).
  std::array<std::unique_ptr<db::Connection>, 2> writers_;
  std::unique_ptr<db::Connection> reader_;  // reads the next batch meanwhile
  JobReport report_;
};

}  // namespace

std::string AnyColumn(const std::string& per_column_template) {
  return "(" + ledger::EachColumn(per_column_template, ") OR (") + ")";
}

StatusOr<JobReport> RunBatchJob(const JobOptions& options, JobSpec spec, std::unique_ptr<db::Connection> session) {
  return Engine(options, std::move(spec), std::move(session)).Run();
}

}  // namespace credvault::jobs
