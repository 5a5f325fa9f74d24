#include "vault/schema_gate.hpp"

#include <mutex>

#include <spdlog/sinks/base_sink.h>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "jobs/jobs.hpp"
#include "migrate/migration_set.hpp"
#include "migrate/migrator.hpp"

namespace credvault::vault {
namespace {

// Forwards the migrator's log lines to the application's LogFunction.
class LogFunctionSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogFunctionSink(LogFunction log) : log_(std::move(log)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!log_) return;
    LogLevel level = msg.level >= spdlog::level::err    ? LogLevel::kError
                     : msg.level >= spdlog::level::warn ? LogLevel::kWarning
                     : msg.level >= spdlog::level::info ? LogLevel::kInfo
                                                        : LogLevel::kDebug;
    log_(level, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogFunction log_;
};

// The native steps for an auto-migrating development application.
class LibrarySteps final : public migrate::StepRunner {
 public:
  LibrarySteps(const VaultOptions& options, const Keyring& keyring, std::shared_ptr<spdlog::logger> log) {
    job_.conninfo = options.database_url;
    job_.keyring = keyring;
    job_.log = std::move(log);
  }
  Status Preflight(const std::string& step) override {
    if (step == "encrypt" || step == "decrypt") return Status::Ok();
    return FailedPreconditionError("unknown native step '" + step + "'");
  }
  Status Run(const std::string& step) override {
    auto report = step == "encrypt" ? jobs::Encrypt(job_) : jobs::Decrypt(job_);
    return report.status();
  }

 private:
  jobs::JobOptions job_;
};

}  // namespace

Status EnsureSchemaAtHead(db::Connection& conn, const VaultOptions& options, const Keyring& keyring) {
  const std::string dir = options.migrations_dir.empty() ? CREDVAULT_INSTALLED_MIGRATIONS : options.migrations_dir;
  CV_ASSIGN_OR_RETURN(migrate::MigrationSet set, migrate::MigrationSet::Load(dir));
  Status at_head = migrate::CheckSchemaAtHead(conn, set);
  if (at_head.ok() || at_head.reason() != reason::kPendingMigrations) return at_head;
  const bool development = options.environment == Environment::kDevelopment;
  if (!development || !options.allow_auto_migrate) {
    return Status(at_head.code(),
                  at_head.message() + (development ? " (or allow auto-migrate in VaultOptions)"
                                                   : std::string(" before starting the application in ") +
                                                         EnvironmentName(options.environment)),
                  at_head.reason());
  }
  auto log = std::make_shared<spdlog::logger>("credvault-vault", std::make_shared<LogFunctionSink>(options.log));
  log->warn("development: applying pending migrations automatically ({})", at_head.message());
  LibrarySteps steps(options, keyring, log);
  migrate::MigratorOptions migrator;
  migrator.conninfo = options.database_url;
  migrator.environment = options.environment;
  migrator.log = log;
  migrator.steps = &steps;
  return migrate::Migrate(migrator, set, "");
}

}  // namespace credvault::vault
