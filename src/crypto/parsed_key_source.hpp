// Which form a key source has (include/credvault/key_source.hpp lists them):
// used by ResolveKeySource and by the CLI to describe a source in messages;
// not part of the public API.
#pragma once

#include <string>
#include <string_view>

#include "credvault/status.hpp"

namespace credvault::crypto {

enum class KeySourceKind { kLiteral, kFile, kExec, kWrapped };

struct ParsedKeySource {
  KeySourceKind kind = KeySourceKind::kLiteral;
  // The path (file:, wrapped:) or the command (exec:); empty for a literal
  // key, which is never copied out of its SecretBytes.
  std::string location;
};

// Which form `text` has; never copies a literal key. Errors
// (kInvalidArgument): a file:, exec: or wrapped: location that is empty or
// holds a NUL byte.
StatusOr<ParsedKeySource> ParseKeySource(std::string_view text);

// Words for messages: "exec: command", "key file /p", "wrapped key file /p",
// or "literal key": never the key, and for exec: not the command either (it
// may carry a token on its command line).
std::string DescribeKeySource(const ParsedKeySource& source);

}  // namespace credvault::crypto
