// exec: key sources: runs a command and takes its standard output as a key.
#pragma once

#include <string>

#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::crypto {

// Runs `/bin/sh -c command` (the command verbatim: no interpolation of ours)
// with stdin from /dev/null, in its own process group, with the environment
// minus SECRET_KEY, SECRET_KEY_FALLBACKS and CREDVAULT_PKCS11_PIN. Returns
// its stdout (at most 64 KiB) with one trailing "\n" or "\r\n" trimmed, in
// SecretBytes. kInvalidArgument when it exits non-zero, is killed, prints
// nothing or more than 64 KiB, or runs past `timeout_seconds` (its process
// group is then killed): the message quotes at most 1000 bytes of its
// stderr (control characters replaced), never its stdout.
StatusOr<SecretBytes> RunKeyCommand(const std::string& command, int timeout_seconds);

}  // namespace credvault::crypto
