// Key sources: where a key's text comes from, named by a prefix on the text
// given wherever a key is accepted (the CLI's --key-file and
// --fallback-key-file, SECRET_KEY, SECRET_KEY_FALLBACKS, credvault.toml,
// KeyringFromEnvironment, credvault_open):
//
//   base64:<32 bytes>   the key itself (as `credvault keygen` prints it)
//   <any other text>    the key itself: a UTF-8 string of at least 32 bytes
//   file:PATH           the contents of PATH (a key file: a regular file,
//                       mode 0600, owned by the effective user or root;
//                       opened non-blocking, symlinks followed)
//   exec:COMMAND        the standard output of `/bin/sh -c COMMAND` (one
//                       trailing newline trimmed), run in its own process
//                       group with an allowlisted environment (never
//                       DATABASE_URL, PG*, SECRET_KEY* or the PIN); the group
//                       is killed 10 s after the start; a non-zero exit or a
//                       timeout fails quoting the command's stderr, never its
//                       stdout
//   wrapped:PATH        a data key wrapped by a key-encryption key (KEK) that
//                       stays in an HSM; PATH (a key file) names the KEK by
//                       its pkcs11: URI; unwrapped through the PKCS#11 module
//                       (a module-path in the URI must be absolute, owned by
//                       root and writable by root only, folders included)
//
// A literal key that happens to begin with one of these prefixes must be
// given as base64: instead.
//
// Resolving a source runs a command or reads a file: the library does so
// only when its caller hands it such a text (the caller chose to), and never
// reads the environment itself: the PKCS#11 module and PIN come in
// KeySourceOptions.
#pragma once

#include <string>
#include <string_view>

#include "credvault/export.h"
#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault {

struct KeySourceOptions {
  // The PKCS#11 module (a .so path) for wrapped: keys whose KEK URI has no
  // module-path; the CLI fills it from CREDVAULT_PKCS11_MODULE.
  std::string pkcs11_module;
  // The token PIN when the KEK URI has no pin-source; the CLI fills it from
  // CREDVAULT_PKCS11_PIN. Empty = none.
  SecretBytes pkcs11_pin;
  // exec: gives up (killing the command's process group) after this long.
  int exec_timeout_seconds = 10;
};

// The key text `text` stands for: itself for a literal, or what the file,
// command or HSM yields. The result is key text for ParseKeyMaterial (a
// wrapped: key comes back as "base64:..."). Errors (never containing a key,
// a PIN or the command's stdout): kInvalidArgument for a malformed source,
// a failed or timed-out command (quoting its stderr) or a bad wrapped-key
// file; kPermissionDenied / kNotFound for files; kNotFound when the PKCS#11
// module cannot be loaded or the token or KEK is absent; kPermissionDenied
// for an untrusted module-path (nothing loaded) or a wrong or missing PIN. Every one is a key problem (CLI exit 3).
CREDVAULT_EXPORT StatusOr<SecretBytes> ResolveKeySource(const SecretBytes& text, const KeySourceOptions& options);

}  // namespace credvault
