// What every subcommand gets: the resolved settings, the logger, lazily
// loaded keyring and database connections, and the stop flag set by
// SIGINT/SIGTERM. Each subcommand lives in its own cmd_<name>.cpp and adds
// itself with a Register<Name>Command(app, commands) function called by main.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/metrics.hpp"
#include "cli/settings.hpp"
#include "credvault/environment.hpp"
#include "credvault/keyring.hpp"
#include "credvault/status.hpp"
#include "db/connection.hpp"

namespace credvault::cli {

// Accepts what ParseEnvironment accepts (--env, env set's NEW and --from).
inline CLI::Validator EnvironmentValidator() {
  return CLI::Validator(
      [](std::string& text) {
        auto parsed = ParseEnvironment(text);
        return parsed.ok() ? std::string() : parsed.status().message();
      },
      "development | staging | production");
}

class CommandContext {
 public:
  CommandContext(Settings settings, std::shared_ptr<spdlog::logger> logger, const std::atomic<bool>* stop)
      : settings_(std::move(settings)), logger_(std::move(logger)), stop_(stop) {}

  const Settings& settings() const { return settings_; }
  spdlog::logger& log() const { return *logger_; }
  const std::shared_ptr<spdlog::logger>& logger() const { return logger_; }
  // Set once SIGINT or SIGTERM arrived: long jobs stop at the next batch boundary.
  const std::atomic<bool>* stop_flag() const { return stop_; }

  // The keyring, read on first use and cached (reading wipes SECRET_KEY from
  // the environment, so it can only be read once).
  StatusOr<Keyring> keyring();
  // The configured database for messages: the URL as given (password
  // hidden) and the host, port, database and user libpq uses for it, which
  // with no URL come from the PG* variables and libpq's defaults.
  std::string DatabaseTarget() const;
  // A new connection to the configured database; kUnavailable names the
  // database (DatabaseTarget) when it cannot be reached.
  StatusOr<std::unique_ptr<db::Connection>> Connect(const std::string& purpose = "credvault") const;

  // Destructive commands: true when --yes was given, or when stdin is a TTY
  // and the user typed "yes". Otherwise false (and the caller refuses, exit 5).
  bool Confirm(const std::string& question, bool yes_flag) const;
  static bool StdoutIsTty();
  static bool StderrIsTty();

  // --metrics-file (disabled when not given): main opens and finishes it;
  // commands add what they measured.
  CommandMetrics& metrics() { return metrics_; }

 private:
  Settings settings_;
  std::shared_ptr<spdlog::logger> logger_;
  const std::atomic<bool>* stop_;
  std::optional<Keyring> keyring_;
  CommandMetrics metrics_;
};

using CommandRunner = std::function<Status(CommandContext&)>;

// Which runner belongs to which CLI11 subcommand.
class CommandTable {
 public:
  void Add(CLI::App* subcommand, CommandRunner runner) { runners_[subcommand] = std::move(runner); }
  // The runner of the subcommand that was parsed, or nullptr.
  const CommandRunner* Selected(const CLI::App& app) const;
  // The name of that subcommand ("rotate"; nested: "env set"), or "".
  std::string SelectedName(const CLI::App& app) const;

 private:
  std::map<const CLI::App*, CommandRunner> runners_;
};

// Every subcommand; main.cpp calls each once.
void RegisterMigrateCommand(CLI::App& app, CommandTable& commands);
void RegisterRollbackCommand(CLI::App& app, CommandTable& commands);
void RegisterCurrentCommand(CLI::App& app, CommandTable& commands);
void RegisterHistoryCommand(CLI::App& app, CommandTable& commands);
void RegisterStatusCommand(CLI::App& app, CommandTable& commands);
void RegisterCreateCommand(CLI::App& app, CommandTable& commands);
void RegisterStampCommand(CLI::App& app, CommandTable& commands);
void RegisterResetCommand(CLI::App& app, CommandTable& commands);
void RegisterCheckCommand(CLI::App& app, CommandTable& commands);
void RegisterLintCommand(CLI::App& app, CommandTable& commands);
void RegisterEnvCommand(CLI::App& app, CommandTable& commands);
void RegisterKeygenCommand(CLI::App& app, CommandTable& commands);
void RegisterKeysCommand(CLI::App& app, CommandTable& commands);
// `keys retire` and `keys rewrap`, added under `keys` by RegisterKeysCommand.
void RegisterKeysRetireCommand(CLI::App& keys, CommandTable& commands);
void RegisterKeysRewrapCommand(CLI::App& keys, CommandTable& commands);
void RegisterEncryptCommand(CLI::App& app, CommandTable& commands);
void RegisterDecryptCommand(CLI::App& app, CommandTable& commands);
void RegisterRotateCommand(CLI::App& app, CommandTable& commands);
void RegisterVerifyCommand(CLI::App& app, CommandTable& commands);
void RegisterPutCommand(CLI::App& app, CommandTable& commands);
void RegisterGetCommand(CLI::App& app, CommandTable& commands);
void RegisterFindCommand(CLI::App& app, CommandTable& commands);
void RegisterClientSecretCommand(CLI::App& app, CommandTable& commands);
// `client-secret rotate` and `client-secret status`, added under
// `client-secret` by RegisterClientSecretCommand.
void RegisterClientSecretRotateCommand(CLI::App& client_secret, CommandTable& commands);
void RegisterClientSecretStatusCommand(CLI::App& client_secret, CommandTable& commands);
// Hidden: writes the man pages and bash completion of every registered command.
void RegisterGenDocsCommand(CLI::App& app, CommandTable& commands);

// An option that takes a whole number in [minimum, maximum]. Anything else is
// a usage error (exit 2) that says so in words: CLI11's own PositiveNumber
// reports "not in range 0.000000 to 1.797693e+308" (or "Could not convert").
CLI::Validator WholeNumber(long long minimum, long long maximum);

// --account: accounts.id is an INTEGER column.
inline constexpr long long kMaxAccountId = 2147483647;

}  // namespace credvault::cli
