#include "cli/job_access.hpp"

#include "cli/audit.hpp"
#include "cli/progress.hpp"
#include "cli/throttle_flags.hpp"
#include "common/status_macros.hpp"

namespace credvault::cli {

StatusOr<jobs::JobOptions> JobOptionsFor(CommandContext& context, const std::string& label, std::size_t batch_size,
                                         unsigned workers, bool dry_run) {
  CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
  jobs::JobOptions options;
  options.conninfo = context.settings().database_url;
  options.keyring = std::move(keyring);
  options.batch_size = batch_size > 0 ? batch_size : context.settings().batch_size;
  options.workers = workers > 0 ? workers : context.settings().workers;
  options.dry_run = dry_run;
  options.lock_wait_seconds = context.settings().job_lock_wait_seconds;
  options.stop = context.stop_flag();
  options.log = context.logger();
  // The throttles report into the counters (the latency throttle's state),
  // which the progress line and the metrics file show.
  options.counters = std::make_shared<jobs::JobCounters>();
  options.progress = MakeProgress(context, label, options.counters);
  options.throttle = context.settings().throttle;
  options.on_pause = MakePauseReporter(context, label);
  const Origin origin = CurrentOrigin();
  options.os_user = origin.os_user;
  options.host = origin.host;
  // Fail fast with the database named when it cannot be reached.
  CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> probe, context.Connect("credvault " + label));
  if (context.metrics().enabled()) {
    context.metrics().WatchJob(options.counters);
    std::vector<std::string> kids;
    for (const auto& key : options.keyring->keys()) kids.push_back(key.kid);
    context.metrics().CountValuesAtFinish(options.conninfo, std::move(kids));
    options.progress = [show = std::move(options.progress), metrics = MetricsProgress(context)](
                           std::uint64_t done, std::uint64_t total) {
      show(done, total);
      metrics(done, total);
    };
  }
  return options;
}

jobs::ProgressFunction MetricsProgress(CommandContext& context) {
  if (!context.metrics().enabled()) return nullptr;
  CommandMetrics* metrics = &context.metrics();
  return [metrics](std::uint64_t done, std::uint64_t total) { metrics->JobProgress(done, total); };
}

}  // namespace credvault::cli
