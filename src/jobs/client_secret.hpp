// Login-with-Amazon client secrets: one client_id/client_secret pair is shared
// by many accounts, and Amazon asks for a new secret every 180 days
// (docs/RUNBOOK.md, "Amazon asked you to rotate the LWA secret").
//
// RotateClientSecret writes the new secret to every account of one client in
// one transaction; ReadClientSecretAges reports, per client, when its secret
// last changed. Neither is a row job: their writes are the application's kind
// (updated_at and client_secret_changed_at are stamped by the triggers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/keyring.hpp"
#include "credvault/status.hpp"

namespace credvault::jobs {

// Amazon's rotation period for an LWA client secret.
inline constexpr int kClientSecretMaxAgeDays = 180;

struct ClientSecretRotation {
  std::string conninfo;
  const Keyring* keyring = nullptr;
  std::string_view client_id;
  std::string_view new_secret;
  bool dry_run = false;  // find and check everything, write nothing
  // Recorded in the event (who ran it).
  std::string os_user, host;
};

struct ClientSecretRotationReport {
  std::size_t accounts = 0;  // changed (dry run: that would change)
  std::string client_index;  // the client's blind index under the primary: how the event names it
};

// In one transaction: locks the client's rows (found by the blind index under
// every kid, each client_id decrypted and compared: ledger/client_lookup.hpp),
// checks the new ciphertext fits credentials.client_secret, encrypts the
// secret per account under the primary key (AAD row key = account_id),
// writes it and appends a client_secret_rotated event (the client's index
// value, the count, the kid, who: never the secret nor the client_id), then
// commits; nothing is written unless all of it succeeds. kNotFound when no
// account has this client_id; kFailedPrecondition for unindexed rows (reason
// unindexed), a secret too long for the column (reason capacity) or a retired
// primary key (reason retired_kid); kDataLoss when a match's client_id cannot
// be decrypted.
StatusOr<ClientSecretRotationReport> RotateClientSecret(const ClientSecretRotation& rotation);

// One client as `client-secret status` shows it.
struct ClientSecretAge {
  std::string masked_client_id;  // ledger::MaskClientId
  std::string client_index;      // blind index under the primary key
  std::size_t accounts = 0;
  // Accounts whose client_secret_changed_at is NULL (no secret, or never
  // recorded): the client's age is then unknown.
  std::size_t accounts_unknown = 0;
  // The oldest client_secret_changed_at among the client's accounts (the
  // secret still in use somewhere), "YYYY-MM-DDTHH:MM:SSZ", and its age in
  // days; nullopt when accounts_unknown > 0 or no account has one.
  std::optional<std::string> changed_at;
  std::optional<double> age_days;
};

// Every client of the table (a full scan that decrypts each client_id),
// oldest secret first, unknown ages before all. An error naming the account
// when a client_id cannot be decrypted.
StatusOr<std::vector<ClientSecretAge>> ReadClientSecretAges(const std::string& conninfo, const Keyring& keyring);

}  // namespace credvault::jobs
