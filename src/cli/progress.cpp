#include "cli/progress.hpp"

#include <chrono>
#include <cstdio>
#include <memory>

namespace credvault::cli {
namespace {

struct ProgressState {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_report{};
  bool drew_bar = false;
};

std::string Eta(double seconds) {
  if (seconds < 0 || seconds > 1e6) return "?";
  char text[32];
  std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  return text;
}

// "; probe p99 1.21 ms (max 1.6), 8400 rows/s in batches of 84, backing
// off" under a latency target; "" otherwise.
std::string LatencyState(const jobs::JobCounters* counters) {
  if (counters == nullptr || counters->latency_target_us.load() == 0) return "";
  char text[160];
  std::snprintf(text, sizeof text, "; probe p99 %.2f ms (max %g), %llu rows/s in batches of %llu%s",
                static_cast<double>(counters->probe_p99_us.load()) / 1000,
                static_cast<double>(counters->latency_target_us.load()) / 1000,
                static_cast<unsigned long long>(counters->paced_rows_per_second.load()),
                static_cast<unsigned long long>(counters->batch_rows.load()),
                counters->backing_off.load() ? ", backing off" : "");
  return text;
}

}  // namespace

jobs::ProgressFunction MakeProgress(const CommandContext& context, const std::string& label,
                                    std::shared_ptr<const jobs::JobCounters> counters) {
  auto state = std::make_shared<ProgressState>();
  const bool tty = CommandContext::StderrIsTty() && context.settings().log_format == "text";
  auto logger = context.logger();
  return [state, tty, logger, label, counters](std::uint64_t done, std::uint64_t total) {
    if (total == 0) return;  // an empty table: the job's own summary says so
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - state->start).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : -1;
    if (tty) {
      constexpr int kWidth = 30;
      const int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
      std::fprintf(stderr, "\r%s [%-*s] %llu/%llu rows  %.0f rows/s  ETA %s%s ", label.c_str(), kWidth,
                   std::string(static_cast<std::size_t>(filled), '#').c_str(), static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total), rate, Eta(eta).c_str(), LatencyState(counters.get()).c_str());
      if (done >= total) std::fputc('\n', stderr);
      std::fflush(stderr);
      state->drew_bar = true;
      return;
    }
    if (done == 0) {
      logger->info("{}: {} rows to go", label, total);
    } else if (done >= total) {
      logger->info("{}: {}/{} rows, {:.0f} rows/s, done", label, done, total, rate);
    } else if (now - state->last_report >= std::chrono::seconds(5)) {
      logger->info("{}: {}/{} rows, {:.0f} rows/s, ETA {}{}", label, done, total, rate, Eta(eta),
                   LatencyState(counters.get()));
    } else {
      return;
    }
    state->last_report = now;
  };
}

}  // namespace credvault::cli
