// credvault rotate: re-encrypt every value not under the primary key.
#include "cli/job_access.hpp"
#include "cli/throttle_flags.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterRotateCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("rotate", "Re-encrypt every value not under the primary key");
  struct Options { bool dry_run = false; std::size_t batch_size = 0; unsigned workers = 0; ThrottleFlags throttle; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--dry-run", options->dry_run, "Count values per kid; write nothing");
  sub->add_option("--batch-size", options->batch_size, "Rows per transaction (default 5000)")->check(WholeNumber(1, kMaxBatchSize));
  sub->add_option("--workers", options->workers, "Crypto threads (default: one per core but one, at least one)")->check(WholeNumber(1, kMaxWorkers));
  AddThrottleFlags(*sub, options->throttle);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(jobs::JobOptions job,
                        JobOptionsFor(context, "rotate", options->batch_size, options->workers, options->dry_run));
    CV_RETURN_IF_ERROR(ApplyThrottleFlags(options->throttle, job));
    CV_RETURN_IF_ERROR(ApplyProductionLatencyDefault(context, &options->throttle, "rotate", job));
    const std::string primary = job.keyring->primary_kid();
    CV_ASSIGN_OR_RETURN(jobs::JobReport report, jobs::Rotate(job));
    context.metrics().JobReport(report);
    std::uint64_t encrypted = 0, under_others = 0;
    std::string others;
    for (const auto& [kid, n] : report.by_kid) {
      encrypted += n;
      if (kid != primary) {
        under_others += n;
        others += (others.empty() ? "" : ", ") + kid + " (" + std::to_string(n) + ")";
      }
    }
    if (under_others == 0) {
      context.log().info("nothing to rotate: {} — no value was written",
                         encrypted == 0 ? std::string("the table holds no encrypted value")
                                        : "all " + std::to_string(encrypted) + " encrypted values are already under the primary key " + primary);
      return Status::Ok();
    }
    if (options->dry_run) {
      context.log().info("dry run: {} value(s) would be re-encrypted from {} to the primary key {}; nothing written",
                         under_others, others, primary);
      return Status::Ok();
    }
    context.log().info("rotated {} value(s) from {} to the primary key {} in {:.1f} s ({} pass(es){}{})", report.values_written,
                       others, primary, report.seconds, report.passes,
                       report.values_skipped ? ", " + std::to_string(report.values_skipped) + " concurrent changes redone"
                                             : std::string(),
                       report.throttled_seconds > 0 ? fmt::format(", {:.1f} s waiting for throttles", report.throttled_seconds)
                                                    : std::string());
    context.log().info("next: `credvault verify` with the new key, then `credvault keys` to see which old keys are unused");
    return Status::Ok();
  });
}

}  // namespace credvault::cli
