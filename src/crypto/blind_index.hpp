// The blind index of credentials.client_id (docs/FORMAT.md, "Blind index of
// client_id"): "<kid>:<base64url of HMAC-SHA256(index key, client_id)[0:16]>",
// the index key derived from the kid's key by HKDF. Equal client_ids under
// one key give equal index values; nothing else about the client_id shows.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/keyring.hpp"
#include "credvault/status.hpp"

namespace credvault::crypto {

// Every index value is this long: 8 hex kid, ':', 22 base64url characters.
inline constexpr std::size_t kClientIdIndexLength = 31;

// The index of `client_id` under the ring key `kid`. kNotFound (reason
// unknown_kid) when the kid is not in the ring.
StatusOr<std::string> ClientIdIndex(const Keyring& ring, std::string_view kid, std::string_view client_id);

// The index under the primary key: what encrypt, put and rotate write beside a
// client_id they encrypt.
std::string PrimaryClientIdIndex(const Keyring& ring, std::string_view client_id);

// The index under every key of the ring, primary first: what a lookup
// matches, so that it finds rows not yet rotated.
std::vector<std::string> ClientIdIndexUnderEveryKey(const Keyring& ring, std::string_view client_id);

// The kid an index value names (its first 8 characters), or "" when the
// value is not of the form above.
std::string_view ClientIdIndexKid(std::string_view index);

}  // namespace credvault::crypto
