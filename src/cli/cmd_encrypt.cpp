// credvault encrypt: encrypt every plaintext credential (the data migration; re-runnable).
#include "cli/job_access.hpp"
#include "cli/throttle_flags.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

void RegisterEncryptCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("encrypt", "Encrypt every plaintext credential and index every client_id (the data migration; re-runnable)");
  struct Options { bool dry_run = false; std::size_t batch_size = 0; ThrottleFlags throttle; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--dry-run", options->dry_run, "Count and check capacity; write nothing");
  sub->add_option("--batch-size", options->batch_size, "Rows per transaction (default 5000)")->check(WholeNumber(1, kMaxBatchSize));
  AddThrottleFlags(*sub, options->throttle);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(jobs::JobOptions job, JobOptionsFor(context, "encrypt", options->batch_size, 0, options->dry_run));
    CV_RETURN_IF_ERROR(ApplyThrottleFlags(options->throttle, job));
    CV_RETURN_IF_ERROR(ApplyProductionLatencyDefault(context, &options->throttle, "encrypt", job));
    CV_ASSIGN_OR_RETURN(jobs::JobReport report, jobs::Encrypt(job));
    context.metrics().JobReport(report);
    const auto& c = report.by_column;
    auto count = [&](const char* column) { return c.count(column) ? c.at(column) : 0; };
    context.log().info("{}: {} value(s) {} under key {} (client_id {}, client_secret {}, refresh_token {}) in {:.1f} s{}",
                       options->dry_run ? "dry run" : "encrypt", count("client_id") + count("client_secret") + count("refresh_token"),
                       options->dry_run ? "would be encrypted" : "encrypted", job.keyring->primary_kid(), count("client_id"),
                       count("client_secret"), count("refresh_token"), report.seconds,
                       report.values_skipped ? "; " + std::to_string(report.values_skipped) +
                                                   " changed by the application meanwhile and were redone"
                                             : std::string());
    return Status::Ok();
  });
}

}  // namespace credvault::cli
