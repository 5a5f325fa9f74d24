// A logged-in session on the PKCS#11 token holding a key-encryption key
// (KEK): wraps and unwraps data keys with CKM_AES_KEY_WRAP_PAD (RFC 5649),
// so the KEK never leaves the HSM and the data key is only ever in
// SecretBytes here. The module is dlopen'ed; nothing links against it.
#pragma once

#include <memory>
#include <string>

#include "credvault/secret.hpp"
#include "credvault/status.hpp"
#include "crypto/pkcs11_uri.hpp"

namespace credvault::crypto {

// The one wrapping mechanism written and accepted, as the file names it.
inline constexpr const char* kWrapMechanism = "CKM_AES_KEY_WRAP_PAD";

// A pkcs11: URI's module-path, resolved (symlinks followed), when it may be
// dlopen'ed: absolute, a regular file, and it and every folder above it owned
// by root and not writable by group or other. kPermissionDenied otherwise
// (kNotFound when it does not exist). Nothing is loaded here.
StatusOr<std::string> TrustedModulePath(const std::string& path);

class Pkcs11Kek {
 public:
  // Loads `module_path` (uri.module_path wins when given, after
  // TrustedModulePath), finds the token and the secret key the URI names,
  // and logs in with `pin` (the file named by uri.pin_source wins when
  // given; it must be 0600 like a key file). kNotFound: no module path, the
  // module cannot be loaded, no such token or key (or more than one key
  // matches); kPermissionDenied: an untrusted uri.module_path (nothing is
  // loaded), no PIN, or the token refused it (wrong PIN, locked). Messages
  // never contain the PIN.
  static StatusOr<std::unique_ptr<Pkcs11Kek>> Open(const Pkcs11Uri& uri, const std::string& module_path,
                                                   const SecretBytes& pin);
  ~Pkcs11Kek();
  Pkcs11Kek(const Pkcs11Kek&) = delete;
  Pkcs11Kek& operator=(const Pkcs11Kek&) = delete;

  // The data key wrapped under the KEK (not secret).
  StatusOr<std::string> Wrap(const SecretBytes& data_key);
  // The data key; kInvalidArgument when the token cannot unwrap `wrapped`
  // (another KEK, damaged file).
  StatusOr<SecretBytes> Unwrap(const std::string& wrapped);

 private:
  struct Impl;
  explicit Pkcs11Kek(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace credvault::crypto
