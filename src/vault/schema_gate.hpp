// The startup check of Vault::Open: the schema must be at the head of the
// migrations folder. In development, with auto-migrate allowed, pending
// migrations are applied (with a warning); anywhere else the open fails.
#pragma once

#include "credvault/vault.hpp"
#include "db/connection.hpp"

namespace credvault::vault {

Status EnsureSchemaAtHead(db::Connection& conn, const VaultOptions& options, const Keyring& keyring);

}  // namespace credvault::vault
