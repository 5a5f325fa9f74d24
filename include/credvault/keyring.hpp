// Keys and the keyring: one primary key that encrypts, fallback keys that
// only decrypt, each named in ciphertext by its kid.
//
// A key is given as text: "base64:<standard base64 of exactly 32 bytes>"
// (what `credvault keygen` prints) or any UTF-8 string of at least 32 bytes
// (an existing SECRET_KEY). From that input keying material (ikm):
//   AEAD key for alg a = HKDF-SHA256(salt="credvault.v1", ikm, info="credvault aead " + a, 32)
//   kid                = hex(HKDF-SHA256(salt="credvault.v1", ikm, info="credvault kid", 4))
//
// A Keyring is immutable after creation, cheap to copy (shared state) and safe
// to use from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "credvault/envelope.hpp"
#include "credvault/export.h"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault {
namespace crypto {
class KeyringAccess;
}  // namespace crypto

// Parses key text into ikm. kInvalidArgument (never echoing the key) for
// anything shorter than 32 bytes, a base64: key that is not exactly 32 bytes,
// or invalid UTF-8. A trailing "\n" or "\r\n" (as in a key file) is ignored.
CREDVAULT_EXPORT StatusOr<SecretBytes> ParseKeyMaterial(std::string_view text);

// A new random key in the "base64:..." form.
CREDVAULT_EXPORT SecretBytes GenerateKeyText();

// The kid (8 lowercase hex chars) of already-parsed ikm. kInvalidArgument for
// empty ikm (ParseKeyMaterial never returns one); kInternal if OpenSSL cannot
// run HKDF-SHA256 (no default provider, out of memory): never an empty kid.
CREDVAULT_EXPORT StatusOr<std::string> DeriveKid(const SecretBytes& ikm);

// One key as the caller supplies it.
struct KeySpec {
  SecretBytes text;    // the key text, as read from a file or the environment
  std::string source;  // where it came from, for `keys` ("env SECRET_KEY", "file keys/a.key"); never the key
};

struct KeyInfo {
  std::string kid;
  bool primary = false;
  std::string source;
};

class CREDVAULT_EXPORT Keyring {
 public:
  // Parses every key. Fails (kInvalidArgument) on a bad key, naming its source,
  // or when two keys share a kid (the same key given twice).
  static StatusOr<Keyring> Create(KeySpec primary, std::vector<KeySpec> fallbacks,
                                  Algorithm algorithm = Algorithm::kXChaCha20Poly1305);

  const std::string& primary_kid() const;
  Algorithm algorithm() const;
  // Primary first, then fallbacks in the order given.
  std::vector<KeyInfo> keys() const;
  bool HasKid(std::string_view kid) const;

  // Encrypts under the primary key with the AAD of `context`.
  StatusOr<std::string> Encrypt(std::string_view plaintext, const ValueContext& context) const;

  // Decrypts a v1 value with the key its kid names. Errors: kInvalidArgument
  // (reason from ParseEnvelope) for a malformed value, kNotFound with reason
  // "unknown_kid" for a kid not in the ring, kDataLoss with reason
  // "auth_failed" when the tag does not verify (wrong key, tampered value or
  // wrong context). Messages name the kid, never the value.
  StatusOr<SecretBytes> Decrypt(std::string_view value, const ValueContext& context) const;

 private:
  // credvault's own allocation-free decrypt for the row jobs (not part of
  // the API, not exported).
  friend class crypto::KeyringAccess;
  struct State;
  explicit Keyring(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

}  // namespace credvault
