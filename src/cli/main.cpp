// credvault: wires the global options and the subcommands, then runs the one
// chosen. Each subcommand lives in cmd_<name>.cpp.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <atomic>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/command.hpp"
#include "cli/git_commit.hpp"
#include "cli/exit_codes.hpp"
#include "cli/logging.hpp"
#include "cli/settings.hpp"

namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void OnStopSignal(int) { g_stop_requested.store(true); }

// Secrets pass through this process's memory: no core file may keep them.
void DisableCoreDumps() {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// The options every command takes (flags > environment > config file >
// defaults is ResolveSettings' work, not theirs).
void AddGlobalOptions(CLI::App& app, credvault::cli::GlobalFlags& flags) {
  using namespace credvault::cli;
  app.add_option("--config", flags.config_file, "Config file (default: $CREDVAULT_CONFIG, else ./credvault.toml)");
  app.add_option("--database-url", flags.database_url,
                 "PostgreSQL URL, libpq or SQLAlchemy form (default: $DATABASE_URL, else PG* variables)");
  app.add_option("--direct-url", flags.direct_url,
                 "Direct PostgreSQL URL (no pooler) for the migration lock and migrations (default: "
                 "$CREDVAULT_DIRECT_URL, else --database-url)");
  app.add_option("--dev-url", flags.dev_url,
                 "Scratch PostgreSQL URL where create --autogenerate and check --schema build the schema file and the "
                 "migrations (default: $CREDVAULT_DEV_URL, else a temporary database on the same server)");
  app.add_option("--migrations-dir", flags.migrations_dir, "Folder of migration files (default: ./migrations)");
  app.add_option("--env", flags.environment, "development | staging | production (default: $CREDVAULT_ENV, else production)")
      ->check(EnvironmentValidator());
  // One primary key: the help shows "--key-file FILE", not CLI11's "TEXT ..."
  // of a vector. The vector still collects every occurrence (TakeAll), so a
  // second --key-file reaches ResolveSettings, whose usage error (exit 2)
  // points at --fallback-key-file instead of CLI11's "At Most 1 required".
  app.add_option("--key-file", flags.key_files, "Primary key file (mode 0600; overrides $SECRET_KEY); give it once")
      ->type_name("FILE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--fallback-key-file", flags.fallback_key_files, "Fallback key file, decrypt only (repeatable)")
      ->type_name("FILE");
  app.add_flag("-v,--verbose", flags.verbose, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", flags.quiet, "Only warnings and errors");
  app.add_option("--log-format", flags.log_format, "text | json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--metrics-file", flags.metrics_file,
                 "Write Prometheus metrics to FILE (atomically; default: $CREDVAULT_METRICS_FILE)")
      ->type_name("FILE");
}

// Every subcommand, one cmd_<name>.cpp each.
void RegisterCommands(CLI::App& app, credvault::cli::CommandTable& commands) {
  using namespace credvault::cli;
  RegisterMigrateCommand(app, commands);
  RegisterRollbackCommand(app, commands);
  RegisterCurrentCommand(app, commands);
  RegisterHistoryCommand(app, commands);
  RegisterStatusCommand(app, commands);
  RegisterCreateCommand(app, commands);
  RegisterStampCommand(app, commands);
  RegisterResetCommand(app, commands);
  RegisterCheckCommand(app, commands);
  RegisterLintCommand(app, commands);
  RegisterEnvCommand(app, commands);
  RegisterKeygenCommand(app, commands);
  RegisterKeysCommand(app, commands);
  RegisterEncryptCommand(app, commands);
  RegisterDecryptCommand(app, commands);
  RegisterRotateCommand(app, commands);
  RegisterVerifyCommand(app, commands);
  RegisterPutCommand(app, commands);
  RegisterGetCommand(app, commands);
  RegisterFindCommand(app, commands);
  RegisterClientSecretCommand(app, commands);
  RegisterGenDocsCommand(app, commands);  // hidden; reads the whole app when it runs
}

// Resolves the settings, opens the metrics and runs the command the command
// line chose; returns the process's exit code.
int RunSelectedCommand(CLI::App& app, const credvault::cli::GlobalFlags& flags,
                       const credvault::cli::CommandTable& commands) {
  using namespace credvault;
  using namespace credvault::cli;
  const EnvLookup env = ProcessEnvironment();
  std::string early_format = !flags.log_format.empty() ? flags.log_format : env("CREDVAULT_LOG_FORMAT").value_or("text");
  auto logger = MakeLogger(early_format == "json" ? "json" : "text", flags.verbose, flags.quiet);
  auto settings = ResolveSettings(flags, env);
  if (!settings.ok()) {
    logger->error("{}", settings.status().message());
    return ExitCodeFor(settings.status());
  }
  if (settings->log_format != early_format) logger = MakeLogger(settings->log_format, flags.verbose, flags.quiet);

  const CommandRunner* run = commands.Selected(app);
  if (run == nullptr) {
    logger->error("no command given; see credvault --help");
    return kExitUsage;
  }
  InstallStopHandlers();
  CommandContext context(std::move(settings).value(), logger, &g_stop_requested);
  Status status = context.metrics().Open(context.settings().metrics_file, commands.SelectedName(app), logger);
  if (!status.ok()) {
    logger->error("{}", status.message());
    return ExitCodeFor(status);
  }
  try {
    status = (*run)(context);
  } catch (const std::exception& e) {
    status = InternalError(std::string("unexpected error: ") + e.what());
  }
  if (!status.ok()) logger->error("{}", status.message());
  context.metrics().Finish(ExitCodeFor(status));
  return ExitCodeFor(status);
}

}  // namespace

int main(int argc, char** argv) {
  DisableCoreDumps();
  // One malloc arena: the row jobs hand batches between threads (fetched on
  // one, transformed on others, written on a third), and glibc's per-thread
  // arenas each kept a batch's worth of freed memory — about 20 MB of peak
  // RSS at 5000 rows per batch, for no speed gain (measured by bench.sh).
  mallopt(M_ARENA_MAX, 1);
  // Large blocks (a batch's fetched rows and array parameters: megabytes)
  // always from mmap, returned to the system when freed. Left to glibc, the
  // threshold rises to the size of the largest block freed, and later
  // batches of that size come from the heap, where the small allocations
  // between them keep the memory from being given back (peak RSS of a
  // 1 000 000-row rotate: 66.9 MB left to glibc, 64.9 MB with this).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  CLI::App app{"credvault: encrypted API credentials in PostgreSQL, schema migrations and online key rotation"};
  app.set_version_flag("--version", std::string("credvault ") + CREDVAULT_VERSION + " (git " + CREDVAULT_GIT_COMMIT + ")");
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the command too

  credvault::cli::GlobalFlags flags;
  AddGlobalOptions(app, flags);
  credvault::cli::CommandTable commands;
  RegisterCommands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? credvault::cli::kExitOk : credvault::cli::kExitUsage;
  }
  return RunSelectedCommand(app, flags, commands);
}
