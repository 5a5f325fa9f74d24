// credvault put: store credentials for an account from a JSON object on stdin
// ({"client_id": ..., "client_secret": ..., "refresh_token": ...}, any subset).
// Secrets are never taken from argv, which every user of the host can read.
#include <unistd.h>

#include <map>

#include "cli/audit.hpp"
#include "cli/command.hpp"
#include "cli/credentials_json.hpp"
#include "cli/exit_codes.hpp"
#include "cli/read_all.hpp"
#include "cli/vault_access.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterPutCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "put", "Store credentials for an account from JSON on stdin ({client_id, client_secret, refresh_token}, any subset)");
  struct Options { long long account = 0; };
  auto options = std::make_shared<Options>();
  sub->add_option("--account", options->account, "accounts.id of the account")->required()->check(WholeNumber(1, kMaxAccountId));
  commands.Add(sub, [options](CommandContext& context) -> Status {
    if (isatty(STDIN_FILENO)) context.log().info("reading JSON credentials from stdin (end with Ctrl-D)");
    StatusOr<SecretBytes> read = ReadAll(STDIN_FILENO);
    if (!read.ok()) return UsageError("put: stdin: " + read.status().message());
    const SecretBytes& input = *read;
    // Values go from `input` straight into SecretBytes (cli/credentials_json.hpp).
    auto parsed = ParseCredentialsJson(input.view());
    if (!parsed.ok()) return UsageError("put: " + parsed.status().message());
    const std::map<std::string, SecretBytes>& fields = *parsed;
    if (fields.empty()) {
      return UsageError("put: give at least one of client_id, client_secret, refresh_token on stdin");
    }
    CredentialsUpdate update;
    auto view_of = [&](const char* name) -> std::optional<std::string_view> {
      auto it = fields.find(name);
      if (it == fields.end()) return std::nullopt;
      return it->second.view();
    };
    update.client_id = view_of("client_id");
    update.client_secret = view_of("client_secret");
    update.refresh_token = view_of("refresh_token");

    CV_ASSIGN_OR_RETURN(Vault vault, OpenVault(context));
    CV_RETURN_IF_ERROR(vault.PutCredentials(options->account, update));
    std::string stored;
    std::vector<std::string> names;
    for (const auto& [name, value] : fields) {
      stored += (stored.empty() ? "" : ", ") + name;
      names.push_back(name);
    }
    // Which fields, never their values.
    CV_RETURN_IF_ERROR(RecordEvent(context, "put",
                                   ledger::EventDetails()
                                       .AddCount("account", static_cast<unsigned long long>(options->account))
                                       .AddTextList("fields", names)
                                       .AddText("kid", vault.keyring().primary_kid())));
    context.log().info("stored {} for account {} under key {}", stored, options->account,
                       vault.keyring().primary_kid());
    return Status::Ok();
  });
}

}  // namespace credvault::cli
