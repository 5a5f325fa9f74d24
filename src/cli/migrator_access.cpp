#include "cli/migrator_access.hpp"

#include "cli/job_access.hpp"
#include "cli/throttle_flags.hpp"
#include "common/status_macros.hpp"
#include "jobs/throttle.hpp"

namespace credvault::cli {
namespace {

// The native steps of `-- migrate:step`: the encrypt and decrypt row jobs.
class RowJobSteps final : public migrate::StepRunner {
 public:
  explicit RowJobSteps(CommandContext& context) : context_(context) {}

  Status Preflight(const std::string& step) override {
    if (step != "encrypt" && step != "decrypt") {
      return FailedPreconditionError("unknown native step '" + step + "' (known: encrypt, decrypt)");
    }
    if (step == "decrypt" && context_.settings().environment == Environment::kProduction) {
      return FailedPreconditionError("the decrypt step stores credentials in plaintext and is never run in production",
                                     "production");
    }
    // Keys first: no key, no migration at all (exit 3), before anything is applied.
    CV_ASSIGN_OR_RETURN(jobs::JobOptions options, Options(step));
    // A [jobs] throttle that cannot be evaluated stops the plan before
    // anything is applied, like a missing key.
    // (Without the latency probe: the job itself measures the idle latency.)
    jobs::ThrottleOptions throttles = options.throttle;
    throttles.max_latency = 0;
    throttles.max_latency_auto = false;
    CV_RETURN_IF_ERROR(
        jobs::Throttle::Start(throttles, options.conninfo, "credvault migrate", step, options.log, nullptr, nullptr)
            .status());
    // The table may not exist yet (it comes with an earlier migration of the
    // same plan); the job checks capacity again before its first write.
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context_.Connect("credvault migrate"));
    CV_ASSIGN_OR_RETURN(db::Rows exists, conn->Query("SELECT to_regclass('credentials') IS NOT NULL"));
    if (exists.text(0, 0) != "t") return Status::Ok();
    return step == "encrypt" ? jobs::EncryptPreflight(*conn, options) : jobs::DecryptPreflight(*conn, options);
  }

  Status Run(const std::string& step) override {
    CV_ASSIGN_OR_RETURN(jobs::JobOptions options, Options(step));
    CV_RETURN_IF_ERROR(ApplyProductionLatencyDefault(context_, nullptr, "migrate (" + step + ")", options));
    auto report = step == "encrypt" ? jobs::Encrypt(options) : jobs::Decrypt(options);
    if (!report.ok()) return report.status();
    context_.log().info("step {}: {} value(s) written in {:.1f} s", step, report->values_written, report->seconds);
    return Status::Ok();
  }

 private:
  StatusOr<jobs::JobOptions> Options(const std::string& step) {
    CV_ASSIGN_OR_RETURN(jobs::JobOptions options, JobOptionsFor(context_, step, 0, 0, false));
    // A refused step is fixed, then the migration is run again, not the job.
    options.rerun_command = "credvault migrate";
    return options;
  }

  CommandContext& context_;
};

}  // namespace

StatusOr<migrate::MigrationSet> LoadMigrations(const CommandContext& context) {
  return migrate::MigrationSet::Load(context.settings().migrations_dir);
}

std::unique_ptr<migrate::StepRunner> MakeStepRunner(CommandContext& context) {
  return std::make_unique<RowJobSteps>(context);
}

migrate::MigratorOptions MigratorOptionsFor(const CommandContext& context, migrate::StepRunner* steps,
                                            int lock_timeout_override) {
  migrate::MigratorOptions options;
  options.conninfo = context.settings().database_url;
  options.direct_conninfo = context.settings().direct_url;
  options.environment = context.settings().environment;
  options.lock_timeout_seconds =
      lock_timeout_override >= 0 ? lock_timeout_override : context.settings().lock_timeout_seconds;
  options.log = context.logger();
  options.steps = steps;
  return options;
}

}  // namespace credvault::cli
