#include "credvault/vault.hpp"

#include <array>
#include <map>
#include <set>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/stored_value.hpp"
#include "db/database_url.hpp"
#include "db/sqlstate.hpp"
#include "ledger/client_lookup.hpp"
#include "ledger/credentials_table.hpp"
#include "ledger/key_lifecycle.hpp"
#include "ledger/stored_credential.hpp"
#include "vault/connection_pool.hpp"
#include "vault/schema_gate.hpp"

namespace credvault {
namespace {

using ledger::kCredentialColumnCount;
using ledger::kCredentialColumns;
using ledger::kCredentialsTable;

// One account's credential columns; `with_retired` adds the kids retired in
// credvault_keys (comma-separated, NULL for none) in the same round trip, so
// a retirement applies at once.
std::string SelectCredentialsSql(bool with_retired) {
  return "SELECT " + ledger::ColumnList() + (with_retired ? ", " + ledger::RetiredKidsSubquery() : "") +
         " FROM " + kCredentialsTable + " WHERE account_id = $1";
}
constexpr const char* kCanReadLifecycle = "SELECT has_table_privilege('credvault_keys', 'SELECT')";
constexpr const char* kKidRetired = "SELECT 1 FROM credvault_keys WHERE kid = $1 AND state = 'retired'";
constexpr const char* kAccountExists = "SELECT 1 FROM accounts WHERE id = $1";
// $1 the account, then per credential column its new value ($2...), then
// per column whether it is being set (a column not set keeps its value), then
// the blind index of the client_id (written with client_id, and only then).
std::string UpsertCredentialsSql() {
  const std::string table = kCredentialsTable;
  const std::string index = ledger::kBlindIndexColumn;
  const auto param = [](std::size_t n) { return "$" + std::to_string(n); };
  const std::string index_param = param(2 + 2 * kCredentialColumnCount);
  const std::string client_id_set = param(2 + kCredentialColumnCount + ledger::kIndexedColumn);
  return "INSERT INTO " + table + " (account_id, " + ledger::ColumnList() + ", " + index + ") VALUES ($1, " +
         ledger::JoinColumns([&](std::size_t i, const ledger::CredentialColumn&) { return param(2 + i); }, ", ") +
         ", " + index_param + ") ON CONFLICT (account_id) DO UPDATE SET " + index + " = CASE WHEN " + client_id_set +
         "::boolean THEN EXCLUDED." + index + " ELSE " + table + "." + index + " END, " +
         ledger::JoinColumns(
             [&](std::size_t i, const ledger::CredentialColumn& column) {
               const std::string name = column.name;
               return name + " = CASE WHEN " + param(2 + kCredentialColumnCount + i) + "::boolean THEN EXCLUDED." +
                      name + " ELSE " + table + "." + name + " END";
             },
             ", ");
}

// The same words for get and put: the account id names no account at all.
Status NoSuchAccount(const std::string& row_key) {
  return NotFoundError("account " + row_key + " does not exist (no accounts row with id " + row_key + ")",
                       reason::kNoSuchAccount);
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

  CV_ASSIGN_OR_RETURN(state->column_capacity, ledger::ReadColumnCapacities(**conn));
  CV_ASSIGN_OR_RETURN(state->lifecycle_table, ledger::LifecycleTableExists(**conn));
  if (state->lifecycle_table) {
    // Fail closed: without it a retired key would go unnoticed.
    CV_ASSIGN_OR_RETURN(db::Rows readable, (*conn)->Query(kCanReadLifecycle));
    if (readable.text(0, 0) != "t") {
      return FailedPreconditionError(
          "this database role cannot read credvault_keys (the retired keys, which every reader must refuse): "
          "GRANT SELECT ON credvault_keys TO the application role (docs/ROLES.md)",
          reason::kNoLifecycleGrant);
    }
  }
  return Vault(std::move(state));
}

const Keyring& Vault::keyring() const { return state_->keyring; }

StatusOr<Credentials> Vault::GetCredentials(std::int64_t account_id) const {
  const std::string row_key = std::to_string(account_id);
  auto rows = state_->WithConnection(
      [&](db::Connection& conn) {
        static const std::string with_retired = SelectCredentialsSql(true), without = SelectCredentialsSql(false);
        return conn.Query(state_->lifecycle_table ? with_retired : without, {row_key});
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
                         reason::kNoCredentials);
  }

  const std::set<std::string> retired =
      state_->lifecycle_table ? ledger::ParseRetiredKids(rows->at(0, kCredentialColumns.size())) : std::set<std::string>();
  Credentials out;
  std::array<std::optional<SecretBytes>*, kCredentialColumnCount> fields = {&out.client_id, &out.client_secret, &out.refresh_token};
  for (std::size_t i = 0; i < kCredentialColumns.size(); ++i) {
    const db::Value& stored = rows->at(0, i);
    if (!stored) continue;
    if (crypto::ClassifyValue(*stored) == crypto::ValueKind::kPlaintext) {
      return FailedPreconditionError(ledger::DescribeStoredValue(kCredentialColumns[i], row_key) +
                                         " is not encrypted yet: run `credvault encrypt`",
                                     reason::kPlaintext);
    }
    CV_ASSIGN_OR_RETURN(*fields[i],
                        ledger::OpenStoredValue(state_->keyring, kCredentialColumns[i], row_key, *stored, retired));
  }
  return out;
}

Status Vault::PutCredentials(std::int64_t account_id, const CredentialsUpdate& update) const {
  const std::string row_key = std::to_string(account_id);
  const std::array<const std::optional<std::string_view>*, kCredentialColumnCount> fields = {&update.client_id, &update.client_secret,
                                                                         &update.refresh_token};
  db::Params params(2 + 2 * kCredentialColumnCount, "false");
  params[0] = row_key;
  for (std::size_t i = 0; i < kCredentialColumnCount; ++i) params[1 + i] = std::nullopt;
  params[1 + 2 * kCredentialColumnCount] =  // the index of client_id (ledger::kIndexedColumn)
      update.client_id ? db::Value(crypto::PrimaryClientIdIndex(state_->keyring, *update.client_id)) : std::nullopt;
  bool any = false;
  for (std::size_t i = 0; i < kCredentialColumns.size(); ++i) {
    if (!fields[i]->has_value()) continue;
    any = true;
    auto capacity = state_->column_capacity.find(kCredentialColumns[i].name);
    std::size_t needed = CiphertextLength((*fields[i])->size(), state_->keyring.algorithm());
    if (capacity != state_->column_capacity.end() && needed > capacity->second) {
      return FailedPreconditionError(
          std::string("credentials.") + kCredentialColumns[i].name + " holds " + std::to_string(capacity->second) +
              " characters; this value needs " + std::to_string(needed) + " once encrypted (at most " +
              std::to_string(MaxPlaintextLength(capacity->second, state_->keyring.algorithm())) +
              " bytes of plaintext fit); widen the column with a migration",
          reason::kCapacity);
    }
    auto encrypted = state_->keyring.Encrypt(**fields[i], ValueContext{kCredentialsTable, kCredentialColumns[i].aad_name, row_key});
    if (!encrypted.ok()) return encrypted.status();
    params[1 + i] = std::move(encrypted).value();
    params[1 + kCredentialColumnCount + i] = "true";
  }
  if (!any) return InvalidArgumentError("nothing to store: give at least one of " + ledger::ColumnList());
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
    static const std::string upsert = UpsertCredentialsSql();
    CV_RETURN_IF_ERROR(conn.Exec(upsert, params));
    return true;
  });
  if (!written.ok() && db::IsForeignKeyViolation(written.status())) {  // no such account
    return NoSuchAccount(row_key);
  }
  return written.status();
}

StatusOr<std::vector<ClientAccount>> Vault::FindAccountsByClientId(std::string_view client_id) const {
  auto rows = state_->WithConnection([&](db::Connection& conn) {
    const ledger::QueryFunction query = [&conn](std::string_view sql, const db::Params& params) {
      return conn.Query(sql, params);
    };
    return ledger::FindClientRows(query, state_->keyring, client_id,
                                  ledger::ClientLookupOptions{false, state_->lifecycle_table});
  });
  if (!rows.ok()) return rows.status();
  std::vector<ClientAccount> accounts;
  accounts.reserve(rows->size());
  for (ledger::ClientRow& row : *rows) accounts.push_back(ClientAccount{row.account_id, std::move(row.amazon_account_id)});
  return accounts;
}

}  // namespace credvault
