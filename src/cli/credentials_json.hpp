// put's standard input: one JSON object whose members are strings
// ({"client_id": ..., "client_secret": ..., "refresh_token": ...}, any
// subset). A parser of exactly that much JSON (RFC 8259 strings, strict
// UTF-8), written so that a value's bytes go from the input straight into
// SecretBytes: no tokenizer buffer, no std::string and no exception message
// ever holds them (a general JSON library's lexer keeps each token in a
// growing std::string freed unzeroed, and quotes it in parse errors).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "credvault/secret.hpp"
#include "credvault/status.hpp"

namespace credvault::cli {

// Field name → value. kInvalidArgument (reason "usage") when `input` is not
// such an object: not JSON, another type, a nested value, an unknown or
// repeated field. Messages may quote a field name (at most 40 bytes), never a
// value.
StatusOr<std::map<std::string, SecretBytes>> ParseCredentialsJson(std::string_view input);

}  // namespace credvault::cli
