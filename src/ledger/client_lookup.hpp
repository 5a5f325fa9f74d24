// The accounts of one Login-with-Amazon client_id, found by the blind index
// credentials.client_id_bidx (docs/FORMAT.md, "Blind index of client_id"):
// the one lookup the Vault (FindAccountsByClientId) and `client-secret
// rotate` (which locks the rows it finds) share, and the masked form in which
// a client_id appears in messages and output.
//
// The rule: refuse (kFailedPrecondition, reason unindexed) while any row has
// a client_id but no index; match the index under every kid of the ring;
// decrypt each match's client_id and keep only exact matches (a truncated
// HMAC may collide, an index may be tampered with); a match whose client_id
// cannot be used is an error (kDataLoss with the decrypt's reason; a value
// under a retired kid: reason retired_kid), never silently dropped. Results
// are ordered by account_id.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/keyring.hpp"
#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::ledger {

// When the client_secret of a row last changed (stamped by a trigger,
// migration 20261207_0004): not encrypted, so not in kCredentialColumns. The
// index column is credentials_table.hpp's kBlindIndexColumn.
inline constexpr const char* kClientSecretChangedAtColumn = "client_secret_changed_at";

// One statement on a connection or inside a transaction.
using QueryFunction = std::function<StatusOr<db::Rows>(std::string_view sql, const db::Params& params)>;

struct ClientRow {
  std::int64_t account_id = 0;
  std::string amazon_account_id;
};

struct ClientLookupOptions {
  // Lock the rows found (SELECT ... FOR UPDATE OF credentials, in
  // account_id order): inside a transaction that writes them.
  bool for_update = false;
  // credvault_keys exists: read the retired kids in the same round trip as
  // the unindexed check, and refuse a match under one of them.
  bool read_retired = false;
};

// The rows whose client_id is exactly `client_id` (see the rule above).
StatusOr<std::vector<ClientRow>> FindClientRows(const QueryFunction& query, const Keyring& ring,
                                                std::string_view client_id, const ClientLookupOptions& options);

// "SELECT EXISTS (...)": whether any row has a client_id but no index
// (served by the partial index credentials_client_id_unindexed_idx).
std::string AnyUnindexedSql();

// The refusal of a lookup while unindexed rows exist.
Status UnindexedError();

// A client_id as messages and output show it: its first 12 and last 4
// characters around "…" (never cutting a UTF-8 character); a client_id of 16
// bytes or fewer shows only "…" and its last 4 bytes at most.
std::string MaskClientId(std::string_view client_id);

}  // namespace credvault::ledger
