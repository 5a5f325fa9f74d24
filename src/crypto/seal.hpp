// Envelope sealing and opening with an explicit key and nonce: the one place
// that turns (plaintext, context) into "cv1:..." and back. The Keyring picks
// keys and draws nonces; tests use these directly for fixed-nonce examples.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "credvault/envelope.hpp"
#include "credvault/secret.hpp"
#include "crypto/aead.hpp"

namespace credvault::crypto {

// "cv1:<alg>:<kid>:" + base64url(nonce || ciphertext || tag), AAD per §2.
StatusOr<std::string> SealEnvelope(const Aead& aead, Algorithm algorithm, std::string_view kid,
                                   const std::uint8_t* nonce, std::string_view plaintext, const ValueContext& context);

// Opens an envelope from ParseEnvelope (its payload already checked) into
// scratch (grown when too small); returns the plaintext length. kDataLoss
// "auth_failed" on any authentication failure.
StatusOr<std::size_t> OpenEnvelope(const Aead& aead, const Envelope& envelope, const ValueContext& context,
                                   SecretBytes& scratch);

}  // namespace credvault::crypto
