// Key files: read with a permission check, create without overwriting.
#pragma once

#include <string>

#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::crypto {

// Reads a key file's contents. kPermissionDenied when group or other may read
// or write it (the message says `chmod 600 <path>`), when it is not a regular
// file, or cannot be read; kNotFound when it does not exist.
StatusOr<SecretBytes> ReadKeyFile(const std::string& path);

// Creates `path` with mode 0600 (O_EXCL) holding `key` and a newline.
// kAlreadyExists if it exists: a key file is never overwritten.
Status WriteNewKeyFile(const std::string& path, const SecretBytes& key);

}  // namespace credvault::crypto
