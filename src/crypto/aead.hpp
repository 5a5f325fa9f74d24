// The AEAD primitives behind the envelope, Tink-style: one interface, one
// class per algorithm. Callers hand in the nonce (the envelope draws it) so
// that the format's worked example and the Wycheproof vectors can be checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "credvault/envelope.hpp"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::crypto {

class Aead {
 public:
  virtual ~Aead() = default;
  virtual std::size_t nonce_size() const = 0;

  // out receives ciphertext || 16-byte tag: plaintext.size() + kTagLength bytes.
  virtual Status Seal(const std::uint8_t* nonce, std::string_view plaintext, std::string_view associated_data,
                      std::uint8_t* out) const = 0;
  // out receives sealed.size() - kTagLength bytes. kDataLoss (reason
  // "auth_failed") when the tag does not verify; out is then zeroed.
  virtual Status Open(const std::uint8_t* nonce, std::string_view sealed, std::string_view associated_data,
                      std::uint8_t* out) const = 0;
};

// key: 32 bytes. The Aead keeps its own copy in SecretBytes.
std::unique_ptr<Aead> NewAead(Algorithm algorithm, const std::uint8_t* key);

// The calling thread's reused AES-256-GCM context (OpenSSL EVP_CIPHER_CTX*,
// as void* to keep OpenSSL out of this header). Exposed so that a test can
// check that it keeps no key schedule between values.
void* ThreadCipherContextForTesting();

// ChaCha20-Poly1305 (IETF, 12-byte nonce): not used by the format, only to
// check the libsodium binding against Wycheproof.
std::unique_ptr<Aead> NewChaCha20Poly1305ForTesting(const std::uint8_t* key);

}  // namespace credvault::crypto
