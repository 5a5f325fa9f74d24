// HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_KDF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::crypto {

// Writes `length` bytes of HKDF-SHA256(salt, ikm, info) to `out`.
Status HkdfSha256(const std::uint8_t* salt, std::size_t salt_size, const std::uint8_t* ikm, std::size_t ikm_size,
                  const std::uint8_t* info, std::size_t info_size, std::uint8_t* out, std::size_t length);

// The derivations of docs/ARCHITECTURE.md, "Keys" (salt "credvault.v1").
inline constexpr std::string_view kCredvaultSalt = "credvault.v1";

}  // namespace credvault::crypto
