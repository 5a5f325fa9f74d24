#include "cli/one_line_input.hpp"

#include <unistd.h>

#include "cli/exit_codes.hpp"
#include "cli/read_all.hpp"
#include "common/status_macros.hpp"
#include "crypto/key_command.hpp"
#include "crypto/key_file.hpp"

namespace credvault::cli {
namespace {

constexpr int kSecretCommandTimeoutSeconds = 10;  // as an exec: key source

StatusOr<SecretBytes> ReadStdinLine(const std::string& what) {
  StatusOr<SecretBytes> read = ReadAll(STDIN_FILENO);
  if (!read.ok()) return UsageError(what + ": stdin: " + read.status().message());
  return OneLine(std::move(read).value(), what + " (stdin)");
}

}  // namespace

StatusOr<SecretBytes> OneLine(SecretBytes input, const std::string& what) {
  std::string_view text = input.view();
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.empty()) return UsageError(what + " is empty: give exactly one line; nothing was written");
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    return UsageError(what + " holds more than one line: give exactly one line; nothing was written");
  }
  return SecretBytes::FromString(text);
}

StatusOr<SecretBytes> ClientIdFromOption(const std::string& option_value) {
  if (option_value != "-") return OneLine(SecretBytes::FromString(option_value), "--client-id");
  return ReadStdinLine("--client-id -");
}

StatusOr<SecretBytes> SecretFromSource(const std::string& source) {
  if (source.empty()) return ReadStdinLine("the new client_secret");
  const std::string what = "the new client_secret (--secret-from " + source.substr(0, source.find(':')) + ":)";
  if (source.rfind("file:", 0) == 0 && source.size() > 5) {
    auto read = crypto::ReadKeyFile(source.substr(5), "secret");
    if (!read.ok()) return read.status().Annotate("--secret-from");
    return OneLine(std::move(read).value(), what);
  }
  if (source.rfind("exec:", 0) == 0 && source.size() > 5) {
    auto read = crypto::RunKeyCommand(source.substr(5), kSecretCommandTimeoutSeconds, "secret");
    if (!read.ok()) return read.status().Annotate("--secret-from");
    return OneLine(std::move(read).value(), what);
  }
  return UsageError("--secret-from takes exec:COMMAND or file:PATH (without it the secret is read from stdin)");
}

}  // namespace credvault::cli
