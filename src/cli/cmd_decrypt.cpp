// credvault decrypt: turn every ciphertext back into plaintext (the data
// migration's down; never in production).
#include "cli/job_access.hpp"
#include "cli/throttle_flags.hpp"
#include "common/status_macros.hpp"
#include "jobs/preflight.hpp"
#include "migrate/recorded_environment.hpp"

namespace credvault::cli {
namespace {

// The environment the database records, as rollback and reset check it: never
// production (whatever --env says), and the same as this run's.
Status CheckRecordedEnvironment(CommandContext& context) {
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> conn, context.Connect("credvault decrypt"));
  CV_RETURN_IF_ERROR(jobs::RefuseRecordedProduction(*conn, "decrypt"));
  return migrate::CheckEnvironment(*conn, context.settings().environment);
}

}  // namespace

void RegisterDecryptCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand(
      "decrypt", "Turn every ciphertext back into plaintext (the data migration's down; not in production)");
  struct Options { bool yes = false; std::size_t batch_size = 0; ThrottleFlags throttle; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--yes", options->yes, "Confirm: credentials will be stored in plaintext");
  sub->add_option("--batch-size", options->batch_size, "Rows per transaction (default 5000)")->check(WholeNumber(1, kMaxBatchSize));
  AddThrottleFlags(*sub, options->throttle);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    if (context.settings().environment == Environment::kProduction) {
      return FailedPreconditionError("decrypt stores credentials in plaintext and is never allowed in production",
                                     "production");
    }
    if (!options->yes) {
      return FailedPreconditionError("decrypt stores every credential in plaintext: pass --yes to confirm", "needs_yes");
    }
    CV_RETURN_IF_ERROR(CheckRecordedEnvironment(context));
    CV_ASSIGN_OR_RETURN(jobs::JobOptions job, JobOptionsFor(context, "decrypt", options->batch_size, 0, false));
    CV_RETURN_IF_ERROR(ApplyThrottleFlags(options->throttle, job));
    CV_RETURN_IF_ERROR(ApplyProductionLatencyDefault(context, &options->throttle, "decrypt", job));
    CV_ASSIGN_OR_RETURN(jobs::JobReport report, jobs::Decrypt(job));
    context.metrics().JobReport(report);
    context.log().warn("decrypt: {} value(s) are now stored in PLAINTEXT ({:.1f} s)", report.values_written, report.seconds);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
