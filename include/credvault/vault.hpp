// Runtime access for applications: read and write one account's credentials,
// decrypted with whichever key of the ring each value names (so it works in
// the middle of a rotation), encrypted under the primary key.
//
//   credvault::VaultOptions options;
//   options.database_url = "postgresql://app@db/ads";
//   options.keyring = std::move(keyring);            // e.g. from KeyringFromEnvironment()
//   auto vault = credvault::Vault::Open(std::move(options));
//   if (!vault.ok()) { ... vault.status().message() ... }
//   auto creds = vault->GetCredentials(42); // StatusOr<Credentials>
//
// Thread safety: a Vault may be used from many threads at once. It keeps a
// small pool of connections (VaultOptions::max_connections, default 4); a
// call takes one for its duration and returns it, opening a new one when all
// are busy and the pool is below its limit, otherwise waiting.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/environment.hpp"
#include "credvault/export.h"
#include "credvault/keyring.hpp"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
// Receives credvault's log lines; never called with a secret.
using LogFunction = std::function<void(LogLevel level, std::string_view message)>;

struct VaultOptions {
  // libpq URL, SQLAlchemy URL ("postgresql+asyncpg://...": the driver part
  // is dropped) or key=value string ("" = libpq's PG* environment variables).
  // Every libpq parameter is honoured (sslmode, sslrootcert, ...).
  std::string database_url;
  // The keys: primary encrypts, fallbacks decrypt during a rotation.
  std::optional<Keyring> keyring;
  // The deployment this application runs in; only kDevelopment may
  // auto-migrate. ParseEnvironment turns a configured name into one.
  Environment environment = Environment::kProduction;
  // Folder of migration files; the schema must be at its head.
  std::string migrations_dir;
  // development only: apply pending migrations on Open (with a warning)
  // instead of refusing. Ignored (refused) in staging and production.
  bool allow_auto_migrate = false;
  std::size_t max_connections = 4;
  LogFunction log;
};

// One account's credentials. A field is empty (nullopt) when the column is NULL.
struct Credentials {
  std::optional<SecretBytes> client_id;
  std::optional<SecretBytes> client_secret;
  std::optional<SecretBytes> refresh_token;
};

// One account of a Login-with-Amazon client (Vault::FindAccountsByClientId).
struct ClientAccount {
  std::int64_t account_id;
  std::string amazon_account_id;  // accounts.amazon_account_id
};

// A partial update: only the fields set are written.
struct CredentialsUpdate {
  std::optional<std::string_view> client_id;
  std::optional<std::string_view> client_secret;
  std::optional<std::string_view> refresh_token;
};

class CREDVAULT_EXPORT Vault {
 public:
  // Connects, checks that the schema is at the head of options.migrations_dir
  // (behind in production/staging → kFailedPrecondition naming the pending
  // revisions, nothing changed; behind in development with allow_auto_migrate
  // → migrates, logging a warning) and keeps the keyring.
  // kInvalidArgument without a keyring; kUnavailable if the server is unreachable;
  // kFailedPrecondition when credvault_keys exists but this role may not read it.
  static StatusOr<Vault> Open(VaultOptions options);

  Vault(Vault&&) noexcept;
  Vault& operator=(Vault&&) noexcept;
  ~Vault();

  // The account's three values, decrypted. kNotFound when the account does
  // not exist (reason "no_such_account") or has no credentials row (reason
  // "no_credentials"); kDataLoss (never garbage) when a value fails to
  // authenticate (tampered, moved, or under a key not in the ring: reason
  // "unknown_kid" then; "retired_kid" for a value under a kid retired with
  // `credvault keys retire`, even if that key is still in the ring);
  // kFailedPrecondition for a value still in plaintext.
  StatusOr<Credentials> GetCredentials(std::int64_t account_id) const;

  // Encrypts the given fields under the primary key and writes them, creating
  // the credentials row if the account has none. kNotFound if the account
  // does not exist (reason "no_such_account"); kFailedPrecondition if a value is too long for its column
  // or the primary key is retired (reason "retired_kid").
  // A client_id written is indexed too (credentials.client_id_bidx, under the
  // primary key, in the same statement); a put without client_id leaves the
  // index as it is.
  Status PutCredentials(std::int64_t account_id, const CredentialsUpdate& update) const;

  // The accounts whose client_id is exactly `client_id` (bytes, no
  // normalization), ordered by account_id; an empty vector when there are
  // none. Found through the blind index (docs/FORMAT.md, "Blind index of
  // client_id") under every key of the ring, so it works in the middle of a
  // rotation, and each match's client_id is decrypted and compared: an index
  // value that collides or was tampered with never returns another client's
  // account. kFailedPrecondition (reason "unindexed") while any row has a
  // client_id but no index yet — the answer could be incomplete; `credvault
  // encrypt` indexes them. kDataLoss (the decrypt's reason, "retired_kid" for
  // a value under a retired kid) when a match's client_id cannot be used:
  // never silently dropped.
  StatusOr<std::vector<ClientAccount>> FindAccountsByClientId(std::string_view client_id) const;

  const Keyring& keyring() const;

 private:
  struct State;
  explicit Vault(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace credvault
