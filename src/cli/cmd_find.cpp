// credvault find --client-id ID: the accounts of one Login-with-Amazon client,
// found through the blind index of client_id (Vault::FindAccountsByClientId).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/one_line_input.hpp"
#include "cli/vault_access.hpp"
#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "ledger/client_lookup.hpp"

namespace credvault::cli {

void RegisterFindCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("find", "The accounts of one client_id (account_id, amazon_account_id)");
  struct Options { std::string client_id; bool json = false; };
  auto options = std::make_shared<Options>();
  sub->add_option("--client-id", options->client_id,
                  "The LWA client_id, exactly; '-' reads it (one line) from stdin, out of sight of ps")
      ->required()
      ->type_name("ID");
  sub->add_flag("--json", options->json, "A JSON array of {account_id, amazon_account_id}");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(SecretBytes client_id, ClientIdFromOption(options->client_id));
    CV_ASSIGN_OR_RETURN(Vault vault, OpenVault(context));
    auto found = vault.FindAccountsByClientId(client_id.view());
    if (!found.ok()) return found.status();
    if (found->empty()) {
      return NotFoundError("no account has the client_id " + ledger::MaskClientId(client_id.view()) +
                           " (`credvault client-secret status` lists the clients)");
    }
    if (options->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const ClientAccount& account : *found) {
        out.push_back({{"account_id", account.account_id}, {"amazon_account_id", account.amazon_account_id}});
      }
      std::cout << out.dump() << std::endl;
    } else {
      for (const ClientAccount& account : *found) {
        std::cout << account.account_id << "\t" << account.amazon_account_id << "\n";
      }
      std::cout << std::flush;
    }
    context.log().info("{} account(s) have the client_id {}", found->size(), ledger::MaskClientId(client_id.view()));
    return Status::Ok();
  });
}

}  // namespace credvault::cli
