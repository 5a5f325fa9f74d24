// exec: key sources: runs a command and takes its standard output as a key.
#pragma once

#include <string>
#include <string_view>

#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::crypto {

// Runs `/bin/sh -c command` (the command verbatim: no interpolation of ours)
// with stdin from /dev/null, in its own process group, with only the
// allowlisted part of the environment (PassedToKeyCommand). Returns its
// stdout (at most 64 KiB) with one trailing "\n" or "\r\n" trimmed, in
// SecretBytes. kInvalidArgument when it exits non-zero, is killed, prints
// nothing or more than 64 KiB, or is still running after `timeout_seconds`
// (pipes closed or not: its process group is then killed): the message
// quotes at most 1000 bytes of its stderr (control characters replaced),
// never its stdout. What it prints names it in messages ("exec: key command
// ..."; `client-secret rotate --secret-from exec:` runs a "secret command").
StatusOr<SecretBytes> RunKeyCommand(const std::string& command, int timeout_seconds, std::string_view what = "key");

// Whether an environment entry ("NAME=value") is passed to an exec: command:
// PATH, HOME, LANG, LANGUAGE, LC_*, TZ, TMPDIR, USER, LOGNAME, TERM,
// GNUPGHOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR, SSL_CERT_FILE, SSL_CERT_DIR,
// the proxy variables, and CREDVAULT_KEY_*, AWS_*, VAULT_*, SOPS_*, OP_*.
// Never DATABASE_URL, PG*, SECRET_KEY* or CREDVAULT_PKCS11_PIN.
bool PassedToKeyCommand(const char* entry);

}  // namespace credvault::crypto
