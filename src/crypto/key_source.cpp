#include "credvault/key_source.hpp"

#include "common/status_macros.hpp"
#include "crypto/key_command.hpp"
#include "crypto/key_file.hpp"
#include "crypto/parsed_key_source.hpp"
#include "crypto/wrapped_key.hpp"

namespace credvault {
namespace crypto {
namespace {

struct Prefix {
  std::string_view text;
  KeySourceKind kind;
};
constexpr Prefix kPrefixes[] = {
    {"file:", KeySourceKind::kFile}, {"exec:", KeySourceKind::kExec}, {"wrapped:", KeySourceKind::kWrapped}};

}  // namespace

StatusOr<ParsedKeySource> ParseKeySource(std::string_view text) {
  for (const Prefix& prefix : kPrefixes) {
    if (text.substr(0, prefix.text.size()) != prefix.text) continue;
    std::string_view rest = text.substr(prefix.text.size());
    // A trailing newline (the source written in a file or by echo) is not part of it.
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
    if (rest.empty()) {
      return InvalidArgumentError("key source " + std::string(prefix.text) + " names nothing (" +
                                  std::string(prefix.text) + (prefix.kind == KeySourceKind::kExec ? "COMMAND" : "PATH") +
                                  ")");
    }
    if (rest.find('\0') != std::string_view::npos) {
      return InvalidArgumentError("key source " + std::string(prefix.text) + " contains a NUL byte");
    }
    return ParsedKeySource{prefix.kind, std::string(rest)};
  }
  return ParsedKeySource{};
}

std::string DescribeKeySource(const ParsedKeySource& source) {
  switch (source.kind) {
    case KeySourceKind::kLiteral: return "literal key";
    case KeySourceKind::kFile: return "key file " + source.location;
    case KeySourceKind::kExec: return "exec: command";
    case KeySourceKind::kWrapped: return "wrapped key file " + source.location;
  }
  return "key";
}

}  // namespace crypto

StatusOr<SecretBytes> ResolveKeySource(const SecretBytes& text, const KeySourceOptions& options) {
  CV_ASSIGN_OR_RETURN(crypto::ParsedKeySource source, crypto::ParseKeySource(text.view()));
  switch (source.kind) {
    case crypto::KeySourceKind::kLiteral: return text.Clone();
    case crypto::KeySourceKind::kFile: return crypto::ReadKeyFile(source.location);
    case crypto::KeySourceKind::kExec: return crypto::RunKeyCommand(source.location, options.exec_timeout_seconds);
    case crypto::KeySourceKind::kWrapped: return crypto::UnwrapKeyFile(source.location, options);
  }
  return InternalError("unknown key source");
}

}  // namespace credvault
