#include "db/connection.hpp"

#include "common/status_macros.hpp"
#include "db/connection_target.hpp"
#include "db/database_url.hpp"
#include "db/sqlstate.hpp"

#include <pqxx/pqxx>

#include <exception>

namespace credvault::db {
namespace {

// The primary message of a PostgreSQL error: the first line, without the
// "ERROR:  " prefix. Later lines (LINE n:, context) may quote SQL text.
std::string PrimaryMessage(const char* what) {
  std::string text(what);
  auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
    if (text.rfind(prefix, 0) == 0) text.erase(0, std::char_traits<char>::length(prefix));
  }
  return text;
}

Status FromSqlState(const std::string& sqlstate, const std::string& message) {
  std::string text = message + " [SQLSTATE " + sqlstate + "]";
  if (sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return UnavailableError("database connection lost: " + text, sqlstate);
  }
  if (sqlstate == sqlstate::kLockNotAvailable || sqlstate == sqlstate::kSerializationFailure ||
      sqlstate == sqlstate::kDeadlockDetected || sqlstate == sqlstate::kQueryCanceled) {
    return AbortedError(text, sqlstate);
  }
  return InternalError("database error: " + text, sqlstate);
}

// The SQLSTATE of a server error. libpqxx 6.4 throws some error classes
// without one (insufficient_privilege, for one: "permission denied" came out
// with an empty SQLSTATE); the class then names the condition.
std::string SqlStateOf(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  // Most specific first: each class derives from the one after it.
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
  if (dynamic_cast<const pqxx::undefined_table*>(&e)) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column*>(&e)) return "42703";
  if (dynamic_cast<const pqxx::undefined_function*>(&e)) return "42883";
  if (dynamic_cast<const pqxx::syntax_error*>(&e)) return "42601";
  if (dynamic_cast<const pqxx::unique_violation*>(&e)) return "23505";
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e)) return "23503";
  if (dynamic_cast<const pqxx::not_null_violation*>(&e)) return "23502";
  if (dynamic_cast<const pqxx::check_violation*>(&e)) return "23514";
  if (dynamic_cast<const pqxx::restrict_violation*>(&e)) return "23001";
  if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&e)) return "23000";
  if (dynamic_cast<const pqxx::data_exception*>(&e)) return "22000";
  if (dynamic_cast<const pqxx::feature_not_supported*>(&e)) return "0A000";
  if (dynamic_cast<const pqxx::disk_full*>(&e)) return "53100";
  if (dynamic_cast<const pqxx::out_of_memory*>(&e)) return "53200";
  if (dynamic_cast<const pqxx::too_many_connections*>(&e)) return "53300";
  if (dynamic_cast<const pqxx::insufficient_resources*>(&e)) return "53000";
  return "XX000";
}

// Runs `fn`, translating every libpqxx/std exception into a Status.
template <typename Fn>
Status Translate(Fn&& fn) {
  try {
    fn();
    return Status::Ok();
  } catch (const pqxx::broken_connection& e) {
    return UnavailableError("database connection lost: " + PrimaryMessage(e.what()), "08006");
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(SqlStateOf(e), PrimaryMessage(e.what()));
  } catch (const pqxx::in_doubt_error&) {
    return UnavailableError("connection lost while committing; the transaction may or may not have committed");
  } catch (const pqxx::deadlock_detected& e) {
    // libpqxx 6.4 derives the class-40 errors from pqxx::failure, not
    // sql_error, and gives them no sqlstate(): name their SQLSTATE here, or
    // the callers that retry deadlocks would never see one.
    return FromSqlState(sqlstate::kDeadlockDetected, PrimaryMessage(e.what()));
  } catch (const pqxx::serialization_failure& e) {
    return FromSqlState(sqlstate::kSerializationFailure, PrimaryMessage(e.what()));
  } catch (const pqxx::statement_completion_unknown& e) {
    return UnavailableError("connection lost before the statement's outcome was known: " + PrimaryMessage(e.what()),
                            "40003");
  } catch (const pqxx::transaction_rollback& e) {
    return FromSqlState("40000", PrimaryMessage(e.what()));
  } catch (const std::exception& e) {
    return InternalError(std::string("database client error: ") + PrimaryMessage(e.what()));
  }
}

// Translate() for work on an open connection: a client-side failure on a
// connection that is no longer open (say, a write into a cut socket during
// COPY) is a lost connection, not an internal error.
template <typename Fn>
Status TranslateOn(const pqxx::connection& conn, Fn&& fn) {
  Status status = Translate(std::forward<Fn>(fn));
  if (status.code() == StatusCode::kInternal && status.reason().empty() && !conn.is_open()) {
    return UnavailableError("database connection lost (" + status.message() + ")", "08006");
  }
  return status;
}

std::vector<const char*> ParamPointers(const Params& params) {
  std::vector<const char*> pointers;
  pointers.reserve(params.size());
  for (const Value& value : params) pointers.push_back(value ? value->c_str() : nullptr);
  return pointers;
}

Rows ToRows(const pqxx::result& result) {
  Rows rows;
  const auto columns = static_cast<std::size_t>(result.columns());
  rows.columns.reserve(columns);
  for (pqxx::row::size_type c = 0; c < result.columns(); ++c) rows.columns.emplace_back(result.column_name(c));
  rows.rows.reserve(result.size());
  for (const auto& row : result) {
    std::vector<Value> out;
    out.reserve(columns);
    for (const auto& field : row) {
      if (field.is_null()) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::string(field.c_str(), field.size()));
      }
    }
    rows.rows.push_back(std::move(out));
  }
  return rows;
}

pqxx::result RunParams(pqxx::transaction_base& tx, std::string_view sql, const Params& params) {
  if (params.empty()) return tx.exec(std::string(sql));
  auto pointers = ParamPointers(params);
  return tx.exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(pointers));
}

pqxx::result RunBinaryParams(pqxx::transaction_base& tx, std::string_view sql, const BinaryParams& params) {
  std::vector<pqxx::binarystring> values;  // libpqxx sends a binarystring in binary format
  values.reserve(params.size());
  for (const std::string& param : params) values.emplace_back(param.data(), param.size());
  return tx.exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(values));
}

}  // namespace

struct Connection::Impl {
  std::unique_ptr<pqxx::connection> conn;
  bool in_transaction = false;
};

struct Transaction::Impl {
  Connection::Impl* owner = nullptr;
  std::unique_ptr<pqxx::work> work;
  bool done = false;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                       const std::string& application_name) {
  CV_ASSIGN_OR_RETURN(std::string with_name, WithApplicationName(conninfo, application_name));
  auto impl = std::make_unique<Impl>();
  try {
    impl->conn = std::make_unique<pqxx::connection>(with_name);
  } catch (const std::exception& e) {
    // Never connected (libpqxx throws broken_connection): libpq's own reason
    // ("connection refused", "password authentication failed", ...), not
    // Translate()'s "connection lost".
    return UnavailableError(WithoutConninfoDbname(PrimaryMessage(e.what()), conninfo), "08001");
  }
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

StatusOr<Rows> Connection::Query(std::string_view sql, const Params& params) {
  if (impl_->in_transaction) return InternalError("Connection::Query called while a transaction is open");
  Rows rows;
  CV_RETURN_IF_ERROR(TranslateOn(*impl_->conn, [&] {
    pqxx::nontransaction tx(*impl_->conn);
    rows = ToRows(RunParams(tx, sql, params));
  }));
  return rows;
}

StatusOr<Rows> Connection::ScanOnOneCore(std::string_view sql, const Params& params) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx, Begin());
  CV_RETURN_IF_ERROR(tx->Exec("SELECT " + std::string(kNoParallelWorkersSetting)));
  CV_ASSIGN_OR_RETURN(Rows rows, tx->Query(sql, params));
  CV_RETURN_IF_ERROR(tx->Commit());
  return rows;
}

Status Connection::Exec(std::string_view sql, const Params& params) { return Query(sql, params).status(); }

Status Connection::ExecScript(std::string_view sql) {
  if (impl_->in_transaction) return InternalError("Connection::ExecScript called while a transaction is open");
  return TranslateOn(*impl_->conn, [&] {
    pqxx::nontransaction tx(*impl_->conn);
    tx.exec(std::string(sql));
  });
}

StatusOr<std::unique_ptr<Transaction>> Connection::Begin() {
  if (impl_->in_transaction) return InternalError("a transaction is already open on this connection");
  auto impl = std::make_unique<Transaction::Impl>();
  impl->owner = impl_.get();
  CV_RETURN_IF_ERROR(TranslateOn(*impl_->conn, [&] { impl->work = std::make_unique<pqxx::work>(*impl_->conn); }));
  impl_->in_transaction = true;
  return std::unique_ptr<Transaction>(new Transaction(std::move(impl)));
}

int Connection::backend_pid() const { return impl_->conn ? impl_->conn->backendpid() : 0; }
bool Connection::is_open() const { return impl_->conn && impl_->conn->is_open(); }

StatusOr<bool> Connection::IsPooled() {
  CV_ASSIGN_OR_RETURN(Rows rows, Query("SELECT pg_backend_pid()::text"));
  return rows.text(0, 0) != std::to_string(backend_pid());
}

Transaction::Transaction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Transaction::~Transaction() { Abort(); }

StatusOr<Rows> Transaction::Query(std::string_view sql, const Params& params) {
  if (impl_->done) return InternalError("transaction already finished");
  Rows rows;
  CV_RETURN_IF_ERROR(TranslateOn(*impl_->owner->conn, [&] { rows = ToRows(RunParams(*impl_->work, sql, params)); }));
  return rows;
}

Status Transaction::Exec(std::string_view sql, const Params& params) { return Query(sql, params).status(); }

StatusOr<Rows> Transaction::QueryBinary(std::string_view sql, const BinaryParams& params) {
  if (impl_->done) return InternalError("transaction already finished");
  Rows rows;
  CV_RETURN_IF_ERROR(
      TranslateOn(*impl_->owner->conn, [&] { rows = ToRows(RunBinaryParams(*impl_->work, sql, params)); }));
  return rows;
}

Status Transaction::ExecScript(std::string_view sql) {
  if (impl_->done) return InternalError("transaction already finished");
  return TranslateOn(*impl_->owner->conn, [&] { impl_->work->exec(std::string(sql)); });
}

Status Transaction::Commit() {
  if (impl_->done) return InternalError("transaction already finished");
  Status status = TranslateOn(*impl_->owner->conn, [&] { impl_->work->commit(); });
  impl_->done = true;
  impl_->work.reset();
  impl_->owner->in_transaction = false;
  return status;
}

void Transaction::Abort() {
  if (impl_->done) return;
  impl_->done = true;
  try {
    impl_->work->abort();
  } catch (...) {
    // The connection is gone; the server rolls back on its own.
  }
  impl_->work.reset();
  impl_->owner->in_transaction = false;
}

std::string QuoteIdentifier(std::string_view identifier) {
  std::string out = "\"";
  for (char c : identifier) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace credvault::db
