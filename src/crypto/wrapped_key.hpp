// wrapped: key files. A text file (mode 0600) holding a 32-byte data key
// wrapped by a key-encryption key (KEK) in an HSM:
//
//   # credvault wrapped key (the data key, wrapped by an HSM key)
//   credvault-wrapped-key: 1
//   kid: 3f9a01c2
//   kek: pkcs11:token=credvault;object=kek-2026
//   mechanism: CKM_AES_KEY_WRAP_PAD
//   wrapped: <standard base64 of the wrapped bytes>
//
// The kid is that of the data key, so `keys` and a rewrap can check it
// without the HSM. Nothing in the file is secret without the KEK.
#pragma once

#include <string>
#include <string_view>

#include "credvault/key_source.hpp"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"
#include "crypto/pkcs11_uri.hpp"

namespace credvault::crypto {

struct WrappedKeyFile {
  std::string kid;
  std::string kek_uri;    // as written (no PIN: pin-value is refused)
  std::string mechanism;  // kWrapMechanism
  std::string wrapped;    // raw bytes
};

// kInvalidArgument naming the line for anything but the format above.
StatusOr<WrappedKeyFile> ParseWrappedKeyFile(std::string_view text);
std::string FormatWrappedKeyFile(const WrappedKeyFile& file);

// The data key of the wrapped key file at `path` (0600, checked) as key text
// "base64:...", unwrapped by the KEK its URI names. The kid of the result
// must equal the file's (kInvalidArgument otherwise).
StatusOr<SecretBytes> UnwrapKeyFile(const std::string& path, const KeySourceOptions& options);

// keygen --wrap-with: a new random data key, wrapped by the KEK `kek_uri`
// names, written to a new file `path` (0600, never overwriting). Returns the
// kid. The data key exists only in SecretBytes and in the token's session.
StatusOr<std::string> CreateWrappedKeyFile(const std::string& path, const std::string& kek_uri,
                                           const KeySourceOptions& options);

// keys rewrap --to: unwraps `path` with its KEK, wraps the same data key
// with the KEK `new_kek_uri` names, checks that the new wrapping unwraps to
// the same kid, and replaces the file atomically (a 0600 temporary in the
// same folder, fsync, rename). Returns the kid. Touches no database.
StatusOr<std::string> RewrapKeyFile(const std::string& path, const std::string& new_kek_uri,
                                    const KeySourceOptions& options);

}  // namespace credvault::crypto
