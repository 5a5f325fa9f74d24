#include "credvault/vault.hpp"

#include <array>
#include <map>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "db/database_url.hpp"
#include "db/sqlstate.hpp"
#include "migrate/credentials_table.hpp"
#include "vault/connection_pool.hpp"
#include "vault/schema_gate.hpp"

namespace credvault {
namespace {

using migrate::kCredentialColumns;
using migrate::kCredentialsTable;

constexpr const char* kSelectCredentials =
    "SELECT client_id, client_secret, refresh_token FROM credentials WHERE account_id = $1";
// The same, with the kids retired in credvault_keys (comma-separated, NULL
// for none) in the same round trip: a retirement applies at once.
constexpr const char* kSelectCredentialsAndRetired =
    "SELECT client_id, client_secret, refresh_token, "
    "(SELECT string_agg(kid, ',') FROM credvault_keys WHERE state = 'retired') "
    "FROM credentials WHERE account_id = $1";
constexpr const char* kLifecycleTableExists = "SELECT to_regclass('credvault_keys') IS NOT NULL";
constexpr const char* kCanReadLifecycle = "SELECT has_table_privilege('credvault_keys', 'SELECT')";
constexpr const char* kKidRetired = "SELECT 1 FROM credvault_keys WHERE kid = $1 AND state = 'retired'";
constexpr const char* kAccountExists = "SELECT 1 FROM accounts WHERE id = $1";
// $2..$4 new values, $5..$7 whether each is being set.
constexpr const char* kUpsertCredentials =
    "INSERT INTO credentials (account_id, client_id, client_secret, refresh_token) "
    "VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (account_id) DO UPDATE SET "
    "client_id = CASE WHEN $5::boolean THEN EXCLUDED.client_id ELSE credentials.client_id END, "
    "client_secret = CASE WHEN $6::boolean THEN EXCLUDED.client_secret ELSE credentials.client_secret END, "
    "refresh_token = CASE WHEN $7::boolean THEN EXCLUDED.refresh_token ELSE credentials.refresh_token END";

// The same words for get and put: the account id names no account at all.
Status NoSuchAccount(const std::string& row_key) {
  return NotFoundError("account " + row_key + " does not exist (no accounts row with id " + row_key + ")",
                       "no_such_account");
}

}  // namespace

struct Vault::State {
  VaultOptions options;
  Keyring keyring;
  mutable vault::ConnectionPool pool;  // thread-safe; lending a connection is not a change of the vault
  std::map<std::string, std::size_t> column_capacity;  // bounded columns only
  bool lifecycle_table = false;  // credvault_keys exists: retired kids are refused

  State(VaultOptions opts, Keyring ring)
      : options(std::move(opts)), keyring(std::move(ring)), pool(options.database_url, options.max_connections) {}

  void Log(LogLevel level, const std::string& message) const {
    if (options.log) options.log(level, message);
  }

  // Runs `fn` with a pooled connection; once more on a fresh connection if the
  // first one turned out to be broken (server restarted, backend terminated).
  template <typename Fn>
  auto WithConnection(Fn&& fn) const -> decltype(fn(std::declval<db::Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool.Acquire();
      if (!lease.ok()) return lease.status();
      auto result = fn(**lease);
      if (result.ok() || result.status().code() != StatusCode::kUnavailable || attempt == 1) return result;
      lease->Discard();
      Log(LogLevel::kWarning, "database connection lost; retrying once on a new connection");
    }
  }
};

Vault::Vault(std::unique_ptr<State> state) : state_(std::move(state)) {}
Vault::Vault(Vault&&) noexcept = default;
Vault& Vault::operator=(Vault&&) noexcept = default;
Vault::~Vault() = default;

StatusOr<Vault> Vault::Open(VaultOptions options) {
  if (!options.keyring) return InvalidArgumentError("VaultOptions.keyring is required");
  auto conninfo = db::NormalizeDatabaseUrl(options.database_url);
  if (!conninfo.ok()) return conninfo.status().Annotate("VaultOptions.database_url");
  options.database_url = std::move(conninfo).value();
  Keyring keyring = *options.keyring;
  auto state = std::make_unique<State>(std::move(options), std::move(keyring));

  auto conn = db::Connection::Open(state->options.database_url, "credvault vault");
  if (!conn.ok()) return conn.status();
  CV_RETURN_IF_ERROR(vault::EnsureSchemaAtHead(**conn, state->options, state->keyring));

  CV_ASSIGN_OR_RETURN(state->column_capacity, migrate::ReadColumnCapacities(**conn));
  CV_ASSIGN_OR_RETURN(db::Rows lifecycle, (*conn)->Query(kLifecycleTableExists));
  state->lifecycle_table = lifecycle.text(0, 0) == "t";
  if (state->lifecycle_table) {
    // Fail closed: without it a retired key would go unnoticed.
    CV_ASSIGN_OR_RETURN(db::Rows readable, (*conn)->Query(kCanReadLifecycle));
    if (readable.text(0, 0) != "t") {
      return FailedPreconditionError(
          "this database role cannot read credvault_keys (the retired keys, which every reader must refuse): "
          "GRANT SELECT ON credvault_keys TO the application role (docs/ROLES.md)",
          "no_lifecycle_grant");
    }
  }
  return Vault(std::move(state));
}

const Keyring& Vault::keyring() const { return state_->keyring; }

StatusOr<Credentials> Vault::GetCredentials(std::int64_t account_id) const {
  const std::string row_key = std::to_string(account_id);
  auto rows = state_->WithConnection(
      [&](db::Connection& conn) {
        return conn.Query(state_->lifecycle_table ? kSelectCredentialsAndRetired : kSelectCredentials, {row_key});
      });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    // Only on this miss path: tell a wrong account id from an account that
    // has simply no credentials yet.
    auto account = state_->WithConnection(
        [&](db::Connection& conn) { return conn.Query(kAccountExists, {row_key}); });
    if (!account.ok()) return account.status();
    if (account->empty()) return NoSuchAccount(row_key);
    return NotFoundError("account " + row_key + " exists but has no credentials yet (no credentials row with account_id " +
                             row_key + ")",
                         "no_credentials");
  }

  // ",kid1,kid2,": kids retired (`credvault keys retire`).
  const std::string retired = state_->lifecycle_table ? "," + rows->text(0, migrate::kCredentialColumns.size()) + "," : "";
  Credentials out;
  std::array<std::optional<SecretBytes>*, 3> fields = {&out.client_id, &out.client_secret, &out.refresh_token};
  for (std::size_t i = 0; i < migrate::kCredentialColumns.size(); ++i) {
    const db::Value& stored = rows->at(0, i);
    if (!stored) continue;
    const ValueContext context{migrate::kCredentialsTable, migrate::kCredentialColumns[i], row_key};
    const ValueKind kind = ClassifyValue(*stored);
    if (kind == ValueKind::kPlaintext) {
      return FailedPreconditionError(std::string("credentials.") + migrate::kCredentialColumns[i] + " of account " + row_key +
                                     " is not encrypted yet: run `credvault encrypt`",
                                     reason::kPlaintext);
    }
    if (kind == ValueKind::kMalformedEnvelope) {  // a damaged cv1: value, or an unknown version (cv2:...)
      const Status error = ParseEnvelope(*stored).status();
      return DataLossError(std::string("credentials.") + migrate::kCredentialColumns[i] + " of account " + row_key +
                               " cannot be decrypted: " + error.message(),
                           error.reason());
    }
    // A valid value is "cv1:<alg>:<kid>:...": the kid is at 6..13.
    const std::string kid = stored->size() > 14 ? stored->substr(6, 8) : std::string();
    if (!retired.empty() && !kid.empty() && retired.find("," + kid + ",") != std::string::npos) {
      return DataLossError(std::string("credentials.") + migrate::kCredentialColumns[i] + " of account " + row_key +
                               " is under key " + kid +
                               ", which is retired: refused (a value restored from an old backup, or written by a "
                               "process still holding the old key); store a current value with put",
                           reason::kRetiredKid);
    }
    auto plaintext = state_->keyring.Decrypt(*stored, context);
    if (!plaintext.ok()) {
      const Status& error = plaintext.status();
      return DataLossError(std::string("credentials.") + migrate::kCredentialColumns[i] + " of account " + row_key +
                               " cannot be decrypted: " + error.message(),
                           error.reason());
    }
    *fields[i] = std::move(plaintext).value();
  }
  return out;
}

Status Vault::PutCredentials(std::int64_t account_id, const CredentialsUpdate& update) const {
  const std::string row_key = std::to_string(account_id);
  const std::array<const std::optional<std::string_view>*, 3> fields = {&update.client_id, &update.client_secret,
                                                                         &update.refresh_token};
  db::Params params = {row_key, std::nullopt, std::nullopt, std::nullopt, "false", "false", "false"};
  bool any = false;
  for (std::size_t i = 0; i < migrate::kCredentialColumns.size(); ++i) {
    if (!fields[i]->has_value()) continue;
    any = true;
    auto capacity = state_->column_capacity.find(migrate::kCredentialColumns[i]);
    std::size_t needed = CiphertextLength((*fields[i])->size(), state_->keyring.algorithm());
    if (capacity != state_->column_capacity.end() && needed > capacity->second) {
      return FailedPreconditionError(
          std::string("credentials.") + migrate::kCredentialColumns[i] + " holds " + std::to_string(capacity->second) +
              " characters; this value needs " + std::to_string(needed) + " once encrypted (at most " +
              std::to_string(MaxPlaintextLength(capacity->second, state_->keyring.algorithm())) +
              " bytes of plaintext fit); widen the column with a migration",
          "capacity");
    }
    auto encrypted = state_->keyring.Encrypt(**fields[i], ValueContext{migrate::kCredentialsTable, migrate::kCredentialColumns[i], row_key});
    if (!encrypted.ok()) return encrypted.status();
    params[1 + i] = std::move(encrypted).value();
    params[4 + i] = "true";
  }
  if (!any) return InvalidArgumentError("nothing to store: give at least one of client_id, client_secret, refresh_token");
  if (state_->lifecycle_table) {
    auto retired = state_->WithConnection(
        [&](db::Connection& conn) { return conn.Query(kKidRetired, {state_->keyring.primary_kid()}); });
    if (!retired.ok()) return retired.status();
    if (!retired->empty()) {
      return FailedPreconditionError("the primary key " + state_->keyring.primary_kid() +
                                         " is retired: nothing may be encrypted under it; configure a new primary key",
                                     reason::kRetiredKid);
    }
  }

  auto written = state_->WithConnection([&](db::Connection& conn) -> StatusOr<bool> {
    CV_RETURN_IF_ERROR(conn.Exec(kUpsertCredentials, params));
    return true;
  });
  if (!written.ok() && db::IsForeignKeyViolation(written.status())) {  // no such account
    return NoSuchAccount(row_key);
  }
  return written.status();
}

}  // namespace credvault
