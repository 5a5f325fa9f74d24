// pkcs11: URIs (RFC 7512) naming a key-encryption key in an HSM, e.g.
//   pkcs11:token=credvault;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/credvault/pin
#pragma once

#include <string>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::crypto {

struct Pkcs11Uri {
  // Path attributes, percent-decoded. token is required, and object or id.
  std::string token;   // CKA_LABEL of the token
  std::string object;  // CKA_LABEL of the key
  std::string id;      // CKA_ID of the key (raw bytes)
  std::string serial;  // token serial number, when given
  // Query attributes.
  std::string module_path;  // the PKCS#11 module to dlopen; "" = the configured one
  std::string pin_source;   // a file holding the PIN (a path or file: URI); "" = the configured PIN
};

// Parses `text`. kInvalidArgument naming the problem for anything else:
// not starting with "pkcs11:", a bad %-escape, an attribute given twice or
// unknown, type other than secret-key, no token, neither object nor id, or a
// pin-value (a PIN in a URI would be stored in key files and seen in argv:
// use pin-source or CREDVAULT_PKCS11_PIN). Messages never quote a pin-value.
StatusOr<Pkcs11Uri> ParsePkcs11Uri(std::string_view text);

// The URI as text again (attributes percent-encoded where needed), for the
// wrapped-key file.
std::string FormatPkcs11Uri(const Pkcs11Uri& uri);

}  // namespace credvault::crypto
