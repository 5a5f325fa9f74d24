#include "cli/migrator_access.hpp"

namespace credvault::cli {
namespace {

// Until the row jobs are wired in, no step is available: migrate refuses a
// plan with a step before applying anything.
class UnavailableSteps final : public migrate::StepRunner {
 public:
  Status Preflight(const std::string& step) override {
    return FailedPreconditionError("native step '" + step + "' is not available in this build");
  }
  Status Run(const std::string& step) override { return Preflight(step); }
};

}  // namespace

StatusOr<migrate::MigrationSet> LoadMigrations(const CommandContext& context) {
  return migrate::MigrationSet::Load(context.settings().migrations_dir);
}

std::unique_ptr<migrate::StepRunner> MakeStepRunner(CommandContext&) { return std::make_unique<UnavailableSteps>(); }

migrate::MigratorOptions MigratorOptionsFor(const CommandContext& context, migrate::StepRunner* steps,
                                            int lock_timeout_override) {
  migrate::MigratorOptions options;
  options.conninfo = context.settings().database_url;
  options.environment = context.settings().environment;
  options.lock_timeout_seconds =
      lock_timeout_override >= 0 ? lock_timeout_override : context.settings().lock_timeout_seconds;
  options.log = context.logger();
  options.steps = steps;
  return options;
}

}  // namespace credvault::cli
