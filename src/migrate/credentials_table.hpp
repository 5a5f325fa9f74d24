// The table credvault protects, credentials(account_id, client_id,
// client_secret, refresh_token): the one list of its encrypted columns, in
// the order every job, preflight and the Vault use, and the one query of how
// many characters each may hold.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>

#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::migrate {

inline constexpr const char* kCredentialsTable = "credentials";
inline constexpr std::array<const char*, 3> kCredentialColumns = {"client_id", "client_secret", "refresh_token"};
inline constexpr std::size_t kCredentialColumnCount = kCredentialColumns.size();

// The bounded (VARCHAR(n)) credential columns of the current schema's
// credentials table: column name → n. Unbounded (TEXT) columns are absent.
StatusOr<std::map<std::string, std::size_t>> ReadColumnCapacities(db::Connection& conn);

}  // namespace credvault::migrate
