// Arbitrary text through the envelope parser, the classifier and decryption.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "credvault/envelope.hpp"
#include "credvault/keyring.hpp"
#include "crypto/base64url.hpp"
#include "crypto/stored_value.hpp"

namespace {

const credvault::Keyring& Ring() {
  static const credvault::Keyring ring = *credvault::Keyring::Create(
      {credvault::SecretBytes::FromString("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), "fuzz"}, {});
  return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const credvault::ValueContext context{"credentials", "refresh_token", "42"};
  auto envelope = credvault::ParseEnvelope(text);
  const auto kind = credvault::crypto::ClassifyValue(text);
  if (envelope.ok()) {
    // A parsed value is exactly its header and payload, and classifies as ciphertext.
    if (std::string(envelope->header) + std::string(envelope->payload) != text) std::abort();
    if (kind != credvault::crypto::ValueKind::kCiphertext) std::abort();
    if (!credvault::crypto::Base64UrlDecode(envelope->payload).ok()) std::abort();
  } else if (kind == credvault::crypto::ValueKind::kCiphertext) {
    std::abort();
  }
  auto plaintext = Ring().Decrypt(text, context);
  if (plaintext.ok() && !envelope.ok()) std::abort();
  // Re-encrypting what decrypted round-trips.
  if (plaintext.ok()) {
    auto again = Ring().Encrypt(plaintext->view(), context);
    if (!again.ok() || !Ring().Decrypt(*again, context)->Equals(*plaintext)) std::abort();
  }
  return 0;
}
