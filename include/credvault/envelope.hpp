// The credvault ciphertext format v1 (docs/FORMAT.md has a worked example):
//
//   cv1:<alg>:<kid>:<payload>
//
//   alg      'x' = XChaCha20-Poly1305 (default), 'g' = AES-256-GCM
//   kid      8 lowercase hex chars naming the key
//   payload  base64url without padding of nonce || ciphertext || tag
//            (nonce 24 bytes for x, 12 for g; tag 16)
//   AAD      "cv1:<alg>:<kid>:" || table || 0x00 || column || 0x00 || row_key
//
// Parsing is strict: anything that does not match exactly is not ciphertext.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "credvault/export.h"
#include "credvault/status.hpp"

namespace credvault {

enum class Algorithm : char {
  kXChaCha20Poly1305 = 'x',
  kAes256Gcm = 'g',
};

// Nonce length in bytes for `alg` (24 or 12). The tag is always 16.
CREDVAULT_EXPORT std::size_t NonceLength(Algorithm alg);
inline constexpr std::size_t kTagLength = 16;

// Where a value is stored. Bound into the AAD, so a value copied to another
// column or another account fails to decrypt.
struct ValueContext {
  std::string_view table;    // "credentials"
  std::string_view column;   // "client_id", "client_secret" or "refresh_token"
  std::string_view row_key;  // decimal text of the row's account_id
};

// A parsed v1 value. The views point into the text given to ParseEnvelope.
struct Envelope {
  Algorithm algorithm;
  std::string_view kid;      // 8 lowercase hex chars
  std::string_view header;   // "cv1:<alg>:<kid>:" including the trailing colon
  std::string_view payload;  // base64url, not yet decoded
};

// Strictly parses `text`. Errors (kInvalidArgument, secret-free) carry a
// distinct `reason`, the first fault found: reason::kNotEnvelope (no "cv1:"
// prefix) through reason::kTooShort (credvault/reasons.hpp).
CREDVAULT_EXPORT StatusOr<Envelope> ParseEnvelope(std::string_view text);

// AAD for a value with `header` ("cv1:x:0a1b2c3d:") stored at `context`.
CREDVAULT_EXPORT std::string BuildAad(std::string_view header, const ValueContext& context);

// Characters of the stored value for an n-byte plaintext:
// 15 + ceil(4 * (nonce + 16 + n) / 3).
CREDVAULT_EXPORT std::size_t CiphertextLength(std::size_t plaintext_bytes, Algorithm alg);
// Largest plaintext whose ciphertext fits in `column_chars` characters
// (332 for VARCHAR(512) with x, 344 with g). 0 if even an empty one does not fit.
CREDVAULT_EXPORT std::size_t MaxPlaintextLength(std::size_t column_chars, Algorithm alg);

}  // namespace credvault
