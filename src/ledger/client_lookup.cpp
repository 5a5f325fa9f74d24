#include "ledger/client_lookup.hpp"

#include <sodium.h>

#include <set>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/blind_index.hpp"
#include "crypto/stored_value.hpp"
#include "ledger/credentials_table.hpp"
#include "ledger/key_lifecycle.hpp"
#include "ledger/stored_credential.hpp"

namespace credvault::ledger {
namespace {

constexpr const CredentialColumn& kClientId = kCredentialColumns[kIndexedColumn];
constexpr const char* kClientIdColumn = kClientId.name;

// $1: the index values as a text[] literal. Columns: account_id,
// amazon_account_id, client_id.
std::string SelectByIndexSql(bool for_update) {
  const std::string table = kCredentialsTable;
  return std::string("SELECT c.account_id, a.amazon_account_id, c.") + kClientIdColumn + " FROM " + table +
         " c JOIN accounts a ON a.id = c.account_id WHERE c." + kBlindIndexColumn +
         " = ANY($1::text[]) ORDER BY c.account_id" + (for_update ? " FOR UPDATE OF c" : "");
}

std::string PrecheckSql(bool read_retired) {
  return "SELECT (" + AnyUnindexedSql() + ")" + (read_retired ? ", " + RetiredKidsSubquery() : "");
}

// '{a,b}': index values hold only hex, ':' and base64url characters, which a
// text[] literal takes unquoted (checked, never assumed).
StatusOr<std::string> IndexArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& value : values) {
    for (char c : value) {
      const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ':' ||
                         c == '_' || c == '-';
      if (!plain) return InternalError("a blind index value holds an unexpected character");
    }
    out += (out.size() > 1 ? "," : "") + value;
  }
  return out + "}";
}

// Whether the stored client_id of `account` is exactly `client_id`; an error
// when it cannot be used.
StatusOr<bool> SameClientId(const Keyring& ring, const std::string& account, const std::string& stored,
                            std::string_view client_id, const std::set<std::string>& retired, SecretBytes& scratch) {
  if (crypto::ClassifyValue(stored) == crypto::ValueKind::kPlaintext) {
    return DataLossError(DescribeStoredValue(kClientId, account) +
                             " has a blind index but is not encrypted: run `credvault encrypt`",
                         reason::kPlaintext);
  }
  // Into one zeroizing buffer for all the matches: a SecretBytes per value
  // (sodium_malloc, guard pages) cost more than the decryption itself.
  CV_ASSIGN_OR_RETURN(std::size_t length, OpenStoredValue(ring, kClientId, account, stored, retired, scratch));
  const bool same = std::string_view(reinterpret_cast<const char*>(scratch.data()), length) == client_id;
  sodium_memzero(scratch.data(), length);
  return same;
}

}  // namespace

std::string AnyUnindexedSql() {
  return std::string("SELECT EXISTS (SELECT 1 FROM ") + kCredentialsTable + " WHERE " + UnindexedRowPredicate() + ")";
}

Status UnindexedError() {
  return FailedPreconditionError(
      "some credentials rows have a client_id but no blind index yet (plaintext, or encrypted before the index "
      "existed), so a lookup by client_id could miss accounts: run `credvault encrypt` to index them",
      reason::kUnindexed);
}

StatusOr<std::vector<ClientRow>> FindClientRows(const QueryFunction& query, const Keyring& ring,
                                                std::string_view client_id, const ClientLookupOptions& options) {
  CV_ASSIGN_OR_RETURN(db::Rows precheck, query(PrecheckSql(options.read_retired), {}));
  if (precheck.text(0, 0) == "t") return UnindexedError();
  const std::set<std::string> retired =
      options.read_retired ? ParseRetiredKids(precheck.at(0, 1)) : std::set<std::string>();

  CV_ASSIGN_OR_RETURN(std::string indexes, IndexArray(crypto::ClientIdIndexUnderEveryKey(ring, client_id)));
  CV_ASSIGN_OR_RETURN(db::Rows matches, query(SelectByIndexSql(options.for_update), {indexes}));
  std::vector<ClientRow> found;
  SecretBytes scratch;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    const db::Value& stored = matches.at(i, 2);
    if (!stored) continue;  // an index beside no client_id: not this client (verify reports it)
    const std::string account = matches.text(i, 0);
    CV_ASSIGN_OR_RETURN(bool same, SameClientId(ring, account, *stored, client_id, retired, scratch));
    if (same) found.push_back(ClientRow{std::stoll(account), matches.text(i, 1)});
  }
  return found;
}

std::string MaskClientId(std::string_view client_id) {
  const auto is_continuation = [&](std::size_t i) {
    return i < client_id.size() && (static_cast<unsigned char>(client_id[i]) & 0xC0) == 0x80;
  };
  std::size_t tail = client_id.size() > 8 ? client_id.size() - 4 : client_id.size();
  while (is_continuation(tail)) ++tail;
  std::string head;
  if (client_id.size() > 16) {
    std::size_t end = 12;
    while (end > 0 && is_continuation(end)) --end;
    head = std::string(client_id.substr(0, end));
  }
  return head + "…" + std::string(client_id.substr(tail));
}

}  // namespace credvault::ledger
