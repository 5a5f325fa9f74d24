// Base64url (RFC 4648 §5, no padding) for the ciphertext payload. The row
// jobs run the Append/DecodeChecked forms for every value: they allocate
// nothing. The payload is public, so table lookups (not
// constant time) are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::crypto {

// Strict: rejects '=', '+', '/', whitespace and non-canonical trailing bits.
std::string Base64UrlEncode(const std::uint8_t* data, std::size_t size);
StatusOr<std::string> Base64UrlDecode(std::string_view text);

// Appends the encoding of data[0, size) to `appended_to`.
void AppendBase64Url(const std::uint8_t* data, std::size_t size, std::string& appended_to);

// Decodes `text`, which must have passed the check of Base64UrlDecode /
// ParseEnvelope (alphabet, length, canonical tail), into `out` (room for
// text.size() * 3 / 4 bytes); returns the number of bytes written.
std::size_t DecodeCheckedBase64Url(std::string_view text, std::uint8_t* out);

}  // namespace credvault::crypto
