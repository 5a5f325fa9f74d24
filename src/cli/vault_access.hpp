// Opens a Vault with the CLI's settings (database, keyring, environment,
// migrations folder); `put` and `get` use it exactly as an application would.
#pragma once

#include "cli/command.hpp"
#include "credvault/vault.hpp"

namespace credvault::cli {

StatusOr<Vault> OpenVault(CommandContext& context);

}  // namespace credvault::cli
