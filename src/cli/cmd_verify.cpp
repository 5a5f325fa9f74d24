// credvault verify: decrypt every value; counts per column and kid; names the
// account (and credentials.id) of any value that does not decrypt or is not
// encrypted: exit 3 when the only failures are values under keys the keyring
// lacks, else exit 6. The text output starts with the summary and the
// failures per reason, then lists the first 20 failures (--limit N, --all);
// --json holds the first 1000 whatever the limit.
#include <algorithm>

#include <cstdint>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "cli/job_access.hpp"
#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"

namespace credvault::cli {
namespace {

constexpr std::size_t kDefaultListed = 20;   // failures listed in the text output
constexpr std::size_t kJsonListed = 1000;    // failures in the JSON output

const char* Explain(const std::string& reason) {
  if (reason == reason::kAuthFailed) {
    return "does not authenticate: tampered, or moved from another row or column (restore from a backup, or `put` a "
           "new value)";
  }
  if (reason == reason::kUnknownKid) return "its key is not in the keyring";
  if (reason == reason::kRetiredKid) {
    return "under a retired key (`credvault keys retire`): restored from an old backup, or written by a process "
           "still holding the old key; store the current value with `credvault put --account ID`";
  }
  if (reason == reason::kPlaintext) return "not encrypted (run `credvault encrypt`)";
  if (reason == reason::kMalformed) return "starts with cv1: but is not a valid credvault value";
  if (reason == reason::kUnsupportedVersion) {
    return "starts with cv<digits>: of a format version this credvault does not know (not cv1): never treated as "
           "plaintext";
  }
  if (reason == reason::kBadBlindIndex) {
    return "the blind index credentials.client_id_bidx is missing, malformed, under another key than the client_id "
           "beside it, not its index, or set beside a NULL or plaintext client_id (run `credvault encrypt` to index "
           "rows it is missing from; anything else was written by something other than credvault)";
  }
  return "cannot be decrypted";
}

// The command's status from verify's report: OK, or the failures summed up
// with what to do about them (exit 3 when every failure is a missing key).
Status VerifyFailure(const jobs::JobReport& report) {
  if (report.bad_value_count == 0) return Status::Ok();
  std::string reasons;
  for (const auto& [reason, n] : report.bad_by_reason) {
    reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  }
  const std::string summary = std::to_string(report.bad_value_count) + " value(s) failed verification (" + reasons + ")";
  // Values under a key the keyring lacks are intact, only unreadable with
  // these keys: a key problem (exit 3, as for rotate and get), unless
  // something is also damaged, which is the graver finding (exit 6).
  auto unknown = report.bad_by_reason.find(reason::kUnknownKid);
  if (unknown != report.bad_by_reason.end() && unknown->second == report.bad_value_count) {
    std::set<std::string> kids;
    for (const auto& bad : report.bad_values) kids.insert(bad.kid);
    std::string missing;
    for (const auto& kid : kids) missing += (missing.empty() ? "" : ", ") + kid;
    return NotFoundError(summary + ": they are under key(s) " + missing +
                             ", not in the keyring; give the key(s) with --fallback-key-file (or "
                             "SECRET_KEY_FALLBACKS), and run `credvault rotate` if they are old keys",
                         reason::kUnknownKid);
  }
  auto index = report.bad_by_reason.find(reason::kBadBlindIndex);
  if (index != report.bad_by_reason.end() && index->second == report.bad_value_count) {
    return DataLossError(summary + ": every value decrypts, but a blind index of client_id is not the one "
                                   "credvault writes; `credvault encrypt` fills missing ones, `credvault put "
                                   "--account ID` rewrites one with its index (the account is listed for each)",
                         reason::kBadBlindIndex);
  }
  return DataLossError(summary + ": restore those values from a backup, or store new ones with `credvault put "
                                 "--account ID` (the account is listed for each)");
}

}  // namespace

void RegisterVerifyCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("verify", "Decrypt every value; counts per kid; lists the account of every value that fails");
  struct Options { bool json = false; std::size_t limit = kDefaultListed; bool all = false; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--json", options->json, "Machine-readable output (the first 1000 failures, whatever --limit)");
  auto* limit = sub->add_option("--limit", options->limit, "List at most N failing values (default 20)")
                    ->check(WholeNumber(0, 100000000));
  sub->add_flag("--all", options->all, "List every failing value")->excludes(limit);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(jobs::JobOptions job, JobOptionsFor(context, "verify", 0, 0, false));
    const std::size_t listed = options->all ? SIZE_MAX : options->limit;
    job.max_listed_bad_values = std::max<std::size_t>(kJsonListed, listed);
    if (options->json) job.progress = MetricsProgress(context);
    CV_ASSIGN_OR_RETURN(jobs::JobReport report, jobs::Verify(job));
    context.metrics().JobReport(report);
    std::uint64_t values = 0;
    for (const auto& [column, n] : report.by_column) values += n;
    if (options->json) {
      nlohmann::json out = {{"rows", report.rows_seen}, {"values", values}, {"nulls", report.null_values},
                            {"plaintext", report.plaintext_values}, {"by_column", report.by_column},
                            {"by_kid", report.by_kid}, {"primary_kid", job.keyring->primary_kid()},
                            {"failure_count", report.bad_value_count}, {"failures_by_reason", report.bad_by_reason},
                            {"ok", report.bad_value_count == 0}, {"seconds", report.seconds}};
      out["failures"] = nlohmann::json::array();  // the first 1000, in row order
      for (std::size_t i = 0; i < report.bad_values.size() && i < kJsonListed; ++i) {
        const auto& bad = report.bad_values[i];
        out["failures"].push_back({{"account_id", bad.account_id}, {"row_id", bad.row_id}, {"column", bad.column},
                                   {"reason", bad.reason}, {"kid", bad.kid}});
      }
      std::cout << out.dump() << std::endl;
    } else {
      std::cout << "checked " << values << " value(s) in " << report.rows_seen << " row(s) (" << report.null_values
                << " NULL) in " << fmt::format("{:.2f}", report.seconds) << " s: " << values - std::min<std::uint64_t>(values, report.bad_value_count)
                << " ok, " << report.bad_value_count << " failed\n";
      for (const auto& [reason, n] : report.bad_by_reason) {
        std::cout << "  failed, " << reason << ": " << n << " — " << Explain(reason) << "\n";
      }
      for (const auto& [column, n] : report.by_column) std::cout << "  column " << column << ": " << n << "\n";
      for (const auto& [kid, n] : report.by_kid) {
        std::cout << "  key " << kid << (kid == job.keyring->primary_kid() ? " (primary)" : "") << ": " << n << "\n";
      }
      const std::size_t shown = std::min<std::size_t>(listed, report.bad_values.size());
      for (std::size_t i = 0; i < shown; ++i) {
        const auto& bad = report.bad_values[i];
        std::cout << "  FAILED account " << bad.account_id << " " << bad.column << ": " << bad.reason
                  << (bad.kid.empty() ? "" : " (key " + bad.kid + ")") << " [credentials.id " << bad.row_id << "]\n";
      }
      if (shown < report.bad_value_count) {
        std::cout << "  ... and " << report.bad_value_count - shown << " more (the first " << shown
                  << " are listed; --limit N or --all for more, --json for the first " << kJsonListed << ")\n";
      }
      std::cout << std::flush;
    }
    return VerifyFailure(report);
  });
}

}  // namespace credvault::cli
