// One-line secret inputs of the client-secret commands and `find`: a
// client_id given as `-` (read from stdin, since argv is visible to every
// user of the host in ps), and the new client_secret (stdin, or
// --secret-from exec:CMD / file:PATH).
#pragma once

#include <string>

#include "cli/command.hpp"
#include "credvault/secret.hpp"

namespace credvault::cli {

// `input` as exactly one line: one trailing "\n" or "\r\n" dropped; a usage
// error (naming `what`, never quoting the input) when it is empty or holds
// another line break.
StatusOr<SecretBytes> OneLine(SecretBytes input, const std::string& what);

// The client_id an option gave: itself, or with "-" one line of stdin.
StatusOr<SecretBytes> ClientIdFromOption(const std::string& option_value);

// A new secret from `source`: "" = one line of stdin; "file:PATH" = a file's
// content (a regular file, mode 0600, owned by this user or root, as a key
// file); "exec:COMMAND" = a command's stdout (run as an exec: key source:
// allowlisted environment, 10 s timeout). Anything else is a usage error.
StatusOr<SecretBytes> SecretFromSource(const std::string& source);

}  // namespace credvault::cli
