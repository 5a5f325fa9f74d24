// credvault keys retire KID: mark a key version retired once no value uses
// it; from then on every reader refuses values under it (reason retired_kid).
#include <iostream>

#include "cli/audit.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "common/status_macros.hpp"
#include "ledger/key_lifecycle.hpp"

namespace credvault::cli {

void RegisterKeysRetireCommand(CLI::App& keys, CommandTable& commands) {
  CLI::App* sub = keys.add_subcommand(
      "retire", "Retire a key version no value uses any more: readers then refuse values under it");
  struct Options { std::string kid; bool yes = false; };
  auto options = std::make_shared<Options>();
  sub->add_option("KID", options->kid, "The kid (8 hex characters, as `credvault keys` shows it)")->required();
  sub->add_flag("--yes", options->yes, "Confirm (else asked on a terminal)");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    const std::string& kid = options->kid;
    bool hex = kid.size() == 8;
    for (char c : kid) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex) return UsageError("KID must be 8 lowercase hex characters, as `credvault keys` shows it");
    // With a keyring configured, its primary cannot be retired (it encrypts).
    if (context.settings().primary_key) {
      CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
      if (keyring.primary_kid() == kid) {
        return FailedPreconditionError("key " + kid + " is the primary key of this keyring: rotate to a new primary "
                                       "first (credvault keygen, then credvault rotate); nothing was changed",
                                       "retire_primary");
      }
    }
    if (!context.Confirm("Retire key " + kid + " in " + context.DatabaseTarget() +
                             "? Values under it will be refused by every reader.",
                         options->yes)) {
      return FailedPreconditionError("retiring a key needs a terminal confirmation or --yes; nothing was changed",
                                     "needs_yes");
    }
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault keys retire"));
    const Origin origin = CurrentOrigin();
    CV_RETURN_IF_ERROR(ledger::RetireKid(*conn, kid, origin.os_user, origin.host));
    std::cout << "retired key " << kid << ": values under it are now refused (verify: retired_kid)" << std::endl;
    context.log().info("key {} retired; recorded in credvault_events", kid);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
