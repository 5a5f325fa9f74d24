// credvault get: print an account's credentials as JSON; secrets are masked
// ("…" + last 4 characters) unless --reveal.
#include <array>

#include <cstdio>

#include "cli/audit.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/vault_access.hpp"
#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"

namespace credvault::cli {
namespace {

// Writes `text` JSON-escaped (without quotes) straight to stdout, so a
// revealed secret is never copied into an unzeroized buffer on the way.
void WriteJsonChars(std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '"': std::fputs("\\\"", stdout); break;
      case '\\': std::fputs("\\\\", stdout); break;
      case '\n': std::fputs("\\n", stdout); break;
      case '\r': std::fputs("\\r", stdout); break;
      case '\t': std::fputs("\\t", stdout); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          std::fprintf(stdout, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          std::fputc(c, stdout);
        }
    }
  }
}

void WriteJsonString(std::string_view text) {
  std::fputc('"', stdout);
  WriteJsonChars(text);
  std::fputc('"', stdout);
}

// "…" + the last 4 bytes, fewer when that would cut a UTF-8 character (the
// output stays valid JSON, escaped like any value); values of 8 bytes or
// fewer show nothing.
void WriteMasked(std::string_view text) {
  std::fputs("\"…", stdout);
  if (text.size() > 8) {
    std::size_t tail = text.size() - 4;
    while (tail < text.size() && (static_cast<unsigned char>(text[tail]) & 0xC0) == 0x80) ++tail;
    WriteJsonChars(text.substr(tail));
  }
  std::fputc('"', stdout);
}

// The vault's error with what to do about it. A value under a key that is
// not loaded is a key problem (exit 3, as for rotate): the value is intact
// and readable with that key.
Status WithRemedy(const Status& error, long long account) {
  const std::string put = "`credvault put --account " + std::to_string(account) + "`";
  if (error.reason() == reason::kNoCredentials) {
    return Status(error.code(), error.message() + "; store them with " + put, error.reason());
  }
  if (error.reason() == reason::kUnknownKid) return UnknownKidAsKeyProblem(error);
  if (error.code() == StatusCode::kDataLoss) {
    return Status(error.code(),
                  error.message() + ". Restore the value from a backup, or store a new one with " +
                      put + " (`credvault verify` lists every value that fails)",
                  error.reason());
  }
  return error;
}

}  // namespace

void RegisterGetCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("get", "Print an account's credentials as JSON (secrets masked unless --reveal)");
  struct Options { long long account = 0; bool reveal = false; };
  auto options = std::make_shared<Options>();
  sub->add_option("--account", options->account, "accounts.id of the account")->required()->check(WholeNumber(1, kMaxAccountId));
  sub->add_flag("--reveal", options->reveal, "Print secrets in full");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(Vault vault, OpenVault(context));
    auto read = vault.GetCredentials(options->account);
    if (!read.ok()) return WithRemedy(read.status(), options->account);
    const Credentials& credentials = *read;
    // Recorded before anything is shown: no reveal without its audit record.
    if (options->reveal) {
      CV_RETURN_IF_ERROR(RecordEvent(
          context, "get_reveal",
          ledger::EventDetails().AddCount("account", static_cast<unsigned long long>(options->account))));
    }
    const std::array<std::pair<const char*, const std::optional<SecretBytes>*>, 3> fields = {{
        {"client_id", &credentials.client_id},
        {"client_secret", &credentials.client_secret},
        {"refresh_token", &credentials.refresh_token},
    }};
    std::fprintf(stdout, "{\"account_id\": %lld", options->account);
    for (const auto& [name, value] : fields) {
      std::fprintf(stdout, ", \"%s\": ", name);
      if (!value->has_value()) {
        std::fputs("null", stdout);
      } else if (options->reveal) {
        WriteJsonString((*value)->view());
      } else {
        WriteMasked((*value)->view());
      }
    }
    std::fputs("}\n", stdout);
    std::fflush(stdout);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
