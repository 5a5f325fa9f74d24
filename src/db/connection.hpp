// The database boundary. Only src/db includes <pqxx/pqxx>; everything else
// talks to PostgreSQL through these types, which speak Status and plain text.
//
// Every statement takes its values as parameters ($1, $2, ...), never spliced
// into SQL. Errors are translated here: a Status message carries PostgreSQL's
// primary message and SQLSTATE (as `reason`), never the SQL text or a
// parameter value.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/status.hpp"
#include "db/binary_params.hpp"

namespace credvault::db {

// One text field as it travels to or from the server; nullopt is SQL NULL.
using Value = std::optional<std::string>;
using Params = std::vector<Value>;

// A fully materialised query result.
struct Rows {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;

  std::size_t size() const { return rows.size(); }
  bool empty() const { return rows.empty(); }
  const Value& at(std::size_t row, std::size_t column) const { return rows.at(row).at(column); }
  // The field as text; "" for NULL.
  std::string text(std::size_t row, std::size_t column) const { return at(row, column).value_or(std::string()); }
};

class Transaction;

// The transaction-local setting of ScanOnOneCore, for a caller that opens its
// own read transaction: "SELECT " + this, beside its other settings.
inline constexpr std::string_view kNoParallelWorkersSetting = "set_config('max_parallel_workers_per_gather', '0', true)";

// One server session. Not thread-safe: use one Connection per thread.
// While a Transaction is open on it, use the Transaction, not the Connection.
class Connection {
 public:
  // `conninfo` is anything libpq accepts (URL or key=value); an empty string
  // means libpq's PG* environment defaults. Fails with kUnavailable when the
  // server cannot be reached.
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                    const std::string& application_name = "credvault");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement in autocommit mode.
  StatusOr<Rows> Query(std::string_view sql, const Params& params = {});
  // One read-only statement in a transaction of its own that plans no
  // parallel workers: for the scans of jobs that run beside the application
  // (counts, preflight checks, verify). A parallel scan of the credentials
  // table takes every core of a small server for a tenth of a second and
  // stalled the application's reads by 20 ms (measured: 2 cores, 200 000
  // rows); a job's scan takes one core, never all of them.
  StatusOr<Rows> ScanOnOneCore(std::string_view sql, const Params& params = {});
  Status Exec(std::string_view sql, const Params& params = {});
  // Several statements separated by ';' (simple query protocol, no parameters),
  // in autocommit mode: used for non-transactional migrations.
  Status ExecScript(std::string_view sql);

  // Starts a transaction; it rolls back unless Commit() succeeds.
  StatusOr<std::unique_ptr<Transaction>> Begin();

  int backend_pid() const;
  bool is_open() const;

  // True when this connection reaches PostgreSQL through a connection pooler
  // (PgBouncer): the backend pid libpq was given at connect time is the
  // pooler's made-up one, not the server's pg_backend_pid(). Through a pooler
  // in transaction mode consecutive transactions may run in different server
  // sessions, so nothing may rely on session state there.
  StatusOr<bool> IsPooled();

 private:
  friend class Transaction;
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A transaction on a Connection (RAII: aborts unless committed).
class Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  StatusOr<Rows> Query(std::string_view sql, const Params& params = {});
  Status Exec(std::string_view sql, const Params& params = {});
  // One statement whose parameters are all in binary form (binary_params.hpp);
  // the result comes back as text, like Query's.
  StatusOr<Rows> QueryBinary(std::string_view sql, const BinaryParams& params);
  // Several statements without parameters (a migration's up or down section).
  Status ExecScript(std::string_view sql);

  Status Commit();
  // Rolls back now (the destructor does this too).
  void Abort();

 private:
  friend class Connection;
  struct Impl;
  explicit Transaction(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Quotes an identifier for SQL ("name" with inner quotes doubled). For the
// few places where an identifier cannot be a parameter (schema names).
std::string QuoteIdentifier(std::string_view identifier);

}  // namespace credvault::db
