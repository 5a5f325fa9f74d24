#include "cli/vault_access.hpp"

#include "common/status_macros.hpp"

namespace credvault::cli {

StatusOr<Vault> OpenVault(CommandContext& context) {
  CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
  VaultOptions options;
  options.database_url = context.settings().database_url;
  options.keyring = std::move(keyring);
  options.environment = context.settings().environment;
  options.migrations_dir = context.settings().migrations_dir;
  options.max_connections = 1;
  auto logger = context.logger();
  options.log = [logger](LogLevel level, std::string_view message) {
    switch (level) {
      case LogLevel::kDebug: logger->debug("{}", message); break;
      case LogLevel::kInfo: logger->info("{}", message); break;
      case LogLevel::kWarning: logger->warn("{}", message); break;
      case LogLevel::kError: logger->error("{}", message); break;
    }
  };
  auto vault = Vault::Open(std::move(options));
  if (!vault.ok() && vault.status().code() == StatusCode::kUnavailable) {
    return vault.status().Annotate("cannot connect to " + context.DatabaseTarget());
  }
  return vault;
}

}  // namespace credvault::cli
