// credvault client-secret status: per LWA client (client_id masked), how many
// accounts share it and when its secret last changed (the oldest change
// among them: the secret still in use somewhere), against Amazon's 180 days.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "common/status_macros.hpp"
#include "jobs/client_secret.hpp"

namespace credvault::cli {
namespace {

// Whole days, rounded down.
long long Days(double days) { return static_cast<long long>(std::floor(days)); }

nlohmann::json ToJson(const jobs::ClientSecretAge& client) {
  nlohmann::json out = {{"client", client.masked_client_id}, {"client_index", client.client_index},
                        {"accounts", client.accounts},       {"accounts_unknown", client.accounts_unknown},
                        {"secret_changed_at", nullptr},      {"age_days", nullptr},
                        {"days_left", nullptr}};
  if (client.age_days) {
    out["secret_changed_at"] = *client.changed_at;
    out["age_days"] = Days(*client.age_days);
    out["days_left"] = jobs::kClientSecretMaxAgeDays - Days(*client.age_days);
  }
  return out;
}

void PrintText(const std::vector<jobs::ClientSecretAge>& clients) {
  std::cout << fmt::format("{:<20} {:>8}  {:<20} {:>8} {:>9}\n", "client", "accounts", "secret changed", "age",
                           "days left");
  for (const auto& client : clients) {
    if (client.age_days) {
      std::cout << fmt::format("{:<20} {:>8}  {:<20} {:>6} d {:>9}\n", client.masked_client_id, client.accounts,
                               *client.changed_at, Days(*client.age_days),
                               jobs::kClientSecretMaxAgeDays - Days(*client.age_days));
    } else {
      std::cout << fmt::format("{:<20} {:>8}  {:<20} {:>8} {:>9}  ({} account(s) with no recorded change)\n",
                               client.masked_client_id, client.accounts, "unknown", "?", "?", client.accounts_unknown);
    }
  }
  if (clients.empty()) std::cout << "no account has a client_id\n";
  std::cout << std::flush;
}

}  // namespace

void RegisterClientSecretStatusCommand(CLI::App& client_secret, CommandTable& commands) {
  CLI::App* sub = client_secret.add_subcommand(
      "status", "Per client_id (masked): accounts, when its secret last changed, days left of Amazon's 180");
  struct Options { bool json = false; int max_age = -1; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--json", options->json, "A JSON array, one object per client");
  sub->add_option("--max-age", options->max_age,
                  "Exit 5 when a client's secret is older than DAYS; an unknown age (NULL "
                  "client_secret_changed_at) counts as too old")
      ->type_name("DAYS")
      ->check(WholeNumber(0, 100000));
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> probe, context.Connect("credvault client-secret status"));
    StatusOr<std::vector<jobs::ClientSecretAge>> read =
        jobs::ReadClientSecretAges(context.settings().database_url, keyring);
    if (!read.ok()) return UnknownKidAsKeyProblem(read.status());
    const std::vector<jobs::ClientSecretAge>& clients = *read;
    std::vector<std::pair<std::string, double>> ages;
    for (const auto& client : clients) {
      ages.emplace_back(client.masked_client_id, client.age_days ? *client.age_days : INFINITY);
    }
    context.metrics().ClientSecretAges(ages);
    if (options->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& client : clients) out.push_back(ToJson(client));
      std::cout << out.dump() << std::endl;
    } else {
      PrintText(clients);
    }
    if (options->max_age < 0) return Status::Ok();
    std::string too_old;
    for (const auto& client : clients) {
      if (client.age_days && *client.age_days <= options->max_age) continue;
      too_old += (too_old.empty() ? "" : ", ") + client.masked_client_id + " (" +
                 (client.age_days ? std::to_string(Days(*client.age_days)) + " days" : std::string("unknown age")) + ")";
    }
    if (too_old.empty()) return Status::Ok();
    return FailedPreconditionError("client secret(s) older than " + std::to_string(options->max_age) +
                                       " days: " + too_old +
                                       "; rotate with `credvault client-secret rotate` (docs/RUNBOOK.md)",
                                   "client_secret_age");
  });
}

}  // namespace credvault::cli
