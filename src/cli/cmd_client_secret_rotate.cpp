// credvault client-secret rotate --client-id ID: the new client_secret (one
// line on stdin, or --secret-from exec:CMD / file:PATH) on every account of
// that client, in one transaction (jobs/client_secret.hpp). Never on argv.
#include <unistd.h>

#include <iostream>

#include "cli/audit.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/one_line_input.hpp"
#include "cli/vault_access.hpp"
#include "common/status_macros.hpp"
#include "jobs/client_secret.hpp"
#include "ledger/client_lookup.hpp"
#include "ledger/history.hpp"

namespace credvault::cli {
namespace {

// Whether the run is against production: the recorded environment of the
// database, or the configured one.
StatusOr<bool> AgainstProduction(CommandContext& context) {
  if (context.settings().environment == Environment::kProduction) return true;
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault client-secret rotate"));
  CV_ASSIGN_OR_RETURN(std::optional<std::string> recorded, ledger::ReadRecordedEnvironment(*conn));
  return recorded && *recorded == "production";
}

}  // namespace

void RegisterClientSecretRotateCommand(CLI::App& client_secret, CommandTable& commands) {
  CLI::App* sub = client_secret.add_subcommand(
      "rotate", "Store a new client_secret on every account of one client_id, in one transaction");
  struct Options { std::string client_id, secret_from; bool dry_run = false, yes = false; };
  auto options = std::make_shared<Options>();
  sub->add_option("--client-id", options->client_id,
                  "The LWA client_id, exactly; '-' reads it (one line) from stdin (then --secret-from is needed)")
      ->required()
      ->type_name("ID");
  sub->add_option("--secret-from", options->secret_from,
                  "exec:COMMAND (its stdout) or file:PATH (mode 0600) for the new secret; default: one line of stdin")
      ->type_name("SRC");
  sub->add_flag("--dry-run", options->dry_run, "Say how many accounts would change; write nothing");
  sub->add_flag("--yes", options->yes, "Confirm a production database (else asked on a terminal)");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    if (options->client_id == "-" && options->secret_from.empty()) {
      return UsageError("--client-id - reads the client_id from stdin: give the new secret with --secret-from");
    }
    CV_ASSIGN_OR_RETURN(SecretBytes client_id, ClientIdFromOption(options->client_id));
    if (options->secret_from.empty() && isatty(STDIN_FILENO)) {
      context.log().info("reading the new client_secret from stdin (one line, then Ctrl-D)");
    }
    CV_ASSIGN_OR_RETURN(SecretBytes secret, SecretFromSource(options->secret_from));
    const std::string masked = ledger::MaskClientId(client_id.view());
    CV_ASSIGN_OR_RETURN(Vault vault, OpenVault(context));  // the schema at head, the keyring checked
    if (!options->dry_run) {
      CV_ASSIGN_OR_RETURN(bool production, AgainstProduction(context));
      if (production && !context.Confirm("Store a new client_secret on every account of client " + masked + " in " +
                                             context.DatabaseTarget() + "?",
                                         options->yes)) {
        return FailedPreconditionError("this is a production database: confirm on a terminal or pass --yes "
                                       "(--dry-run first); nothing was written",
                                       "needs_yes");
      }
    }
    const Origin origin = CurrentOrigin();
    jobs::ClientSecretRotation rotation;
    rotation.conninfo = context.settings().database_url;
    rotation.keyring = &vault.keyring();
    rotation.client_id = client_id.view();
    rotation.new_secret = secret.view();
    rotation.dry_run = options->dry_run;
    rotation.os_user = origin.os_user;
    rotation.host = origin.host;
    CV_ASSIGN_OR_RETURN(jobs::ClientSecretRotationReport report, jobs::RotateClientSecret(rotation));
    if (options->dry_run) {
      std::cout << "would change the client_secret of " << report.accounts << " account(s) of client " << masked
                << "; nothing was written (--dry-run)" << std::endl;
    } else {
      std::cout << "changed the client_secret of " << report.accounts << " account(s) of client " << masked
                << " (under key " << vault.keyring().primary_kid() << ")" << std::endl;
    }
    return Status::Ok();
  });
}

}  // namespace credvault::cli
