#include "jobs/client_secret.hpp"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/stored_value.hpp"
#include "db/binary_params.hpp"
#include "db/connection.hpp"
#include "ledger/client_lookup.hpp"
#include "ledger/credentials_table.hpp"
#include "ledger/history.hpp"
#include "ledger/key_lifecycle.hpp"
#include "ledger/stored_credential.hpp"

namespace credvault::jobs {
namespace {

using ledger::kCredentialColumns;
using ledger::kCredentialsTable;

static_assert(std::string_view(kCredentialColumns[1].name) == "client_secret");
constexpr const ledger::CredentialColumn& kClientIdColumn = kCredentialColumns[ledger::kIndexedColumn];
constexpr const ledger::CredentialColumn& kClientSecretColumn = kCredentialColumns[1];

// $1 account ids, $2 their new client_secret values (binary arrays, in step).
std::string UpdateSecretsSql() {
  return std::string("UPDATE ") + kCredentialsTable + " c SET " + kClientSecretColumn.name +
         " = v.secret FROM (SELECT unnest($1::integer[]) AS account_id, unnest($2::text[]) AS secret) AS v "
         "WHERE c.account_id = v.account_id";
}

std::string SelectAgesSql() {
  const std::string changed = ledger::kClientSecretChangedAtColumn;
  return std::string("SELECT account_id, ") + kClientIdColumn.name + ", to_char(" + changed +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), extract(epoch FROM now() - " + changed +
         ") / 86400 FROM " + kCredentialsTable + " WHERE " + kClientIdColumn.name + " IS NOT NULL";
}

// Refuses a retired primary key (nothing may be encrypted under it) and a
// secret too long for the column once encrypted.
Status CheckWritable(db::Connection& conn, const Keyring& ring, std::size_t secret_bytes) {
  CV_ASSIGN_OR_RETURN(std::set<std::string> retired, ledger::ReadRetiredKids(conn));
  if (retired.count(ring.primary_kid()) > 0) {
    return FailedPreconditionError("the primary key " + ring.primary_kid() +
                                       " is retired: nothing may be encrypted under it; configure a new primary key",
                                   reason::kRetiredKid);
  }
  CV_ASSIGN_OR_RETURN(auto capacities, ledger::ReadColumnCapacities(conn));
  auto capacity = capacities.find(kClientSecretColumn.name);
  const std::size_t needed = CiphertextLength(secret_bytes, ring.algorithm());
  if (capacity != capacities.end() && needed > capacity->second) {
    return FailedPreconditionError(
        std::string("credentials.") + kClientSecretColumn.name + " holds " + std::to_string(capacity->second) +
            " characters; the new secret needs " + std::to_string(needed) + " once encrypted (at most " +
            std::to_string(MaxPlaintextLength(capacity->second, ring.algorithm())) +
            " bytes of plaintext fit); widen the column with a migration. Nothing was written",
        reason::kCapacity);
  }
  return Status::Ok();
}

// The new secret encrypted for each account, as binary arrays for UpdateSecretsSql.
StatusOr<db::BinaryParams> EncryptForEach(const Keyring& ring, const std::vector<ledger::ClientRow>& rows,
                                          std::string_view secret) {
  db::BinaryArrayBuilder ids(db::BinaryArrayBuilder::ElementType::kInt4);
  db::BinaryArrayBuilder values(db::BinaryArrayBuilder::ElementType::kText);
  for (const ledger::ClientRow& row : rows) {
    CV_ASSIGN_OR_RETURN(std::string sealed,
                        ring.Encrypt(secret, ValueContext{kCredentialsTable, kClientSecretColumn.aad_name,
                                                          std::to_string(row.account_id)}));
    if (sealed.size() != CiphertextLength(secret.size(), ring.algorithm())) {
      return InternalError("an encrypted client_secret has an unexpected length; nothing was written");
    }
    ids.AddInt4(static_cast<std::int32_t>(row.account_id));
    values.AddText(sealed);
  }
  return db::BinaryParams{ids.Finish(), values.Finish()};
}

}  // namespace

StatusOr<ClientSecretRotationReport> RotateClientSecret(const ClientSecretRotation& rotation) {
  if (rotation.keyring == nullptr) return InvalidArgumentError("a keyring is required");
  const Keyring& ring = *rotation.keyring;
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn,
                      db::Connection::Open(rotation.conninfo, "credvault client-secret rotate"));
  CV_RETURN_IF_ERROR(CheckWritable(*conn, ring, rotation.new_secret.size()));
  CV_ASSIGN_OR_RETURN(bool lifecycle, ledger::LifecycleTableExists(*conn));

  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Transaction> tx, conn->Begin());
  const ledger::QueryFunction query = [&tx](std::string_view sql, const db::Params& params) {
    return tx->Query(sql, params);
  };
  CV_ASSIGN_OR_RETURN(std::vector<ledger::ClientRow> rows,
                      ledger::FindClientRows(query, ring, rotation.client_id, ledger::ClientLookupOptions{true, lifecycle}));
  ClientSecretRotationReport report;
  report.accounts = rows.size();
  report.client_index = crypto::PrimaryClientIdIndex(ring, rotation.client_id);
  if (rows.empty()) {
    return NotFoundError("no account has the client_id " + ledger::MaskClientId(rotation.client_id) +
                         " (`credvault client-secret status` lists the clients); nothing was written");
  }
  CV_ASSIGN_OR_RETURN(db::BinaryParams arrays, EncryptForEach(ring, rows, rotation.new_secret));
  if (rotation.dry_run) {
    tx->Abort();
    return report;
  }
  CV_RETURN_IF_ERROR(tx->QueryBinary(UpdateSecretsSql(), arrays).status());
  const ledger::EventDetails details = ledger::EventDetails()
                                           .AddText("client_index", report.client_index)
                                           .AddCount("accounts", report.accounts)
                                           .AddText("kid", ring.primary_kid())
                                           .AddText("os_user", rotation.os_user)
                                           .AddText("host", rotation.host);
  CV_RETURN_IF_ERROR(ledger::AppendEvent(*tx, "client_secret_rotated", "", details));
  CV_RETURN_IF_ERROR(tx->Commit());
  return report;
}

namespace {

// The client_id a row holds: a plaintext one as it is, else decrypted into
// `scratch` (one zeroizing buffer for the whole scan, not one per row).
StatusOr<std::string_view> ClientIdOf(const Keyring& ring, const std::string& account, const std::string& stored,
                                      SecretBytes& scratch) {
  if (crypto::ClassifyValue(stored) == crypto::ValueKind::kPlaintext) return std::string_view(stored);
  CV_ASSIGN_OR_RETURN(std::size_t length, ledger::OpenStoredValue(ring, kClientIdColumn, account, stored, {}, scratch));
  return std::string_view(reinterpret_cast<const char*>(scratch.data()), length);
}

bool OlderFirst(const ClientSecretAge& a, const ClientSecretAge& b) {
  if (a.age_days.has_value() != b.age_days.has_value()) return !a.age_days.has_value();
  if (a.age_days && *a.age_days != *b.age_days) return *a.age_days > *b.age_days;
  return a.client_index < b.client_index;
}

}  // namespace

StatusOr<std::vector<ClientSecretAge>> ReadClientSecretAges(const std::string& conninfo, const Keyring& keyring) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn,
                      db::Connection::Open(conninfo, "credvault client-secret status"));
  CV_ASSIGN_OR_RETURN(db::Rows rows, conn->ScanOnOneCore(SelectAgesSql()));
  std::map<std::string, ClientSecretAge> by_client;  // by blind index: no client_id kept in the clear
  SecretBytes scratch;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string account = rows.text(i, 0);
    const std::string& stored = *rows.at(i, 1);
    CV_ASSIGN_OR_RETURN(std::string_view client_id, ClientIdOf(keyring, account, stored, scratch));
    const std::string index = crypto::PrimaryClientIdIndex(keyring, client_id);
    ClientSecretAge& client = by_client[index];
    if (client.accounts == 0) {
      client.masked_client_id = ledger::MaskClientId(client_id);
      client.client_index = index;
    }
    sodium_memzero(scratch.data(), scratch.size());
    ++client.accounts;
    if (!rows.at(i, 2)) {
      ++client.accounts_unknown;
      continue;
    }
    const double age = std::stod(rows.text(i, 3));
    if (!client.age_days || age > *client.age_days) {
      client.age_days = age;
      client.changed_at = rows.text(i, 2);
    }
  }
  std::vector<ClientSecretAge> out;
  for (auto& [index, client] : by_client) {
    if (client.accounts_unknown > 0) {
      client.age_days.reset();
      client.changed_at.reset();
    }
    out.push_back(std::move(client));
  }
  std::sort(out.begin(), out.end(), OlderFirst);
  return out;
}

}  // namespace credvault::jobs
