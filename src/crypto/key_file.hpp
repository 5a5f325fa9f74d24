// Key files: read with a permission check, create without overwriting.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::crypto {

// Reads a key file's contents. kPermissionDenied when group or other may read
// or write it (the message says `chmod 600 <path>`), when it is owned by
// someone other than the effective user or root, when it is not a regular
// file (a FIFO is refused without blocking: opened O_NONBLOCK, checked with
// fstat), or cannot be read; kNotFound when it does not exist. A symlink is
// followed; the file it leads to is what is checked. `what` the file holds
// names it in messages ("key file ..."; `client-secret rotate --secret-from
// file:` reads a "secret file ..." with the same checks).
StatusOr<SecretBytes> ReadKeyFile(const std::string& path, std::string_view what = "key");

// kPermissionDenied naming `path` (a `what` file) unless `owner` is the
// effective user or root.
Status CheckKeyFileOwner(const std::string& path, uid_t owner, std::string_view what = "key");

// Creates `path` with mode 0600 (O_EXCL) holding `key` and a newline.
// kAlreadyExists if it exists: a key file is never overwritten.
Status WriteNewKeyFile(const std::string& path, const SecretBytes& key);

}  // namespace credvault::crypto
