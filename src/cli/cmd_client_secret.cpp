// credvault client-secret: the Login-with-Amazon client secrets shared by many
// accounts (Amazon asks for a new one every 180 days). Its subcommands,
// rotate and status, live in cmd_client_secret_<name>.cpp.
#include "cli/command.hpp"

namespace credvault::cli {

void RegisterClientSecretCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "client-secret", "LWA client secrets: rotate one client's secret on all its accounts; their ages");
  sub->require_subcommand(1);
  RegisterClientSecretRotateCommand(*sub, commands);
  RegisterClientSecretStatusCommand(*sub, commands);
}

}  // namespace credvault::cli
