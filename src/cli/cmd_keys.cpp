// credvault keys: the keyring (never the keys), how many values use each kid,
// and each kid's lifecycle (credvault_keys: state, first seen, retired).
// `keys --max-age DAYS` fails (exit 5) once the primary is older: for cron.
#include <iostream>

#include <spdlog/fmt/fmt.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "common/status_macros.hpp"
#include "jobs/jobs.hpp"
#include "ledger/key_lifecycle.hpp"

namespace credvault::cli {
namespace {

using KidCounts = std::map<std::string, std::map<std::string, std::uint64_t>>;
using Lifecycle = std::optional<std::map<std::string, ledger::KeyLifecycle>>;

// Kids in use (the primary, and any found in the data) are recorded as
// seen, so first_seen and --max-age work from the first run. Listing keys
// needs no write: a role that may not record (no INSERT on credvault_keys)
// still gets its listing, with a warning; --max-age (`max_age_given`), which
// depends on the record, fails instead.
Status RecordKidsInUse(CommandContext& context, db::Connection& probe, const Keyring& keyring,
                       const KidCounts& counts, bool max_age_given) {
  std::vector<std::string> used = {keyring.primary_kid()};
  for (const auto& [kid, columns] : counts) {
    if (!kid.empty()) used.push_back(kid);
  }
  if (Status recorded = ledger::RecordKidsSeen(probe, used); !recorded.ok()) {
    if (max_age_given) return recorded.Annotate("recording the kids in use in credvault_keys");
    context.log().warn("could not record the kids in use in credvault_keys (first_seen): {}", recorded.message());
  }
  return Status::Ok();
}

// What `keys --json` prints: the ring's keys with their value counts and
// lifecycle, retired kids, kids found in the data but not in the ring, and
// the plaintext count.
nlohmann::json KeysReport(const Keyring& keyring, const KidCounts& counts, const Lifecycle& lifecycle) {
  auto lifecycle_json = [&lifecycle](const std::string& kid) {
    nlohmann::json out = {{"state", nullptr}, {"first_seen", nullptr}, {"retired_at", nullptr}};
    if (!lifecycle || !lifecycle->count(kid)) return out;
    const ledger::KeyLifecycle& row = lifecycle->at(kid);
    out["state"] = row.state;
    out["first_seen"] = row.first_seen;
    if (!row.retired_at.empty()) out["retired_at"] = row.retired_at;
    return out;
  };
  auto total = [&](const std::string& kid) {
    std::uint64_t n = 0;
    if (counts.count(kid)) {
      for (const auto& [column, c] : counts.at(kid)) n += c;
    }
    return n;
  };

  nlohmann::json out = {{"keys", nlohmann::json::array()}, {"unknown_kids", nlohmann::json::array()}};
  for (const auto& key : keyring.keys()) {
    nlohmann::json columns = counts.count(key.kid) ? nlohmann::json(counts.at(key.kid)) : nlohmann::json::object();
    const std::uint64_t used = total(key.kid);
    nlohmann::json entry = {{"kid", key.kid}, {"role", key.primary ? "primary" : "fallback"}, {"source", key.source},
                            {"values", used}, {"by_column", columns},
                            {"safe_to_remove", !key.primary && used == 0}};
    entry.update(lifecycle_json(key.kid));
    out["keys"].push_back(entry);
  }
  // Retired kids no longer in the ring: still refused, still listed.
  out["retired"] = nlohmann::json::array();
  if (lifecycle) {
    for (const auto& [kid, row] : *lifecycle) {
      if (row.state != "retired") continue;
      out["retired"].push_back({{"kid", kid}, {"first_seen", row.first_seen}, {"retired_at", row.retired_at},
                                {"retired_by", row.retired_by}, {"values", total(kid)}});
    }
  }
  for (const auto& [kid, columns] : counts) {
    if (kid.empty() || keyring.HasKid(kid)) continue;
    out["unknown_kids"].push_back({{"kid", kid}, {"values", total(kid)}, {"by_column", columns}});
  }
  out["plaintext_values"] = total("");
  return out;
}

// The text form of KeysReport's output, on stdout.
void PrintKeysReport(const nlohmann::json& out) {
  for (const auto& key : out["keys"]) {
    std::cout << key["kid"].get<std::string>() << "  " << key["role"].get<std::string>() << "  "
              << key["values"].get<std::uint64_t>() << " value(s)";
    for (const auto& [column, n] : key["by_column"].items()) std::cout << "  " << column << "=" << n;
    std::cout << "  from " << key["source"].get<std::string>();
    if (key["first_seen"].is_string()) std::cout << "  first seen " << key["first_seen"].get<std::string>();
    if (key["state"] == "retired") std::cout << "  RETIRED " << key["retired_at"].get<std::string>();
    if (key["safe_to_remove"].get<bool>()) std::cout << "  — unused: safe to remove";
    std::cout << "\n";
  }
  for (const auto& retired : out["retired"]) {
    std::cout << retired["kid"].get<std::string>() << "  retired " << retired["retired_at"].get<std::string>()
              << " by " << retired["retired_by"].get<std::string>() << "  " << retired["values"].get<std::uint64_t>()
              << " value(s) (refused)\n";
  }
  if (out["plaintext_values"].get<std::uint64_t>() > 0) {
    std::cout << "plaintext  " << out["plaintext_values"].get<std::uint64_t>() << " value(s) not encrypted yet (run `credvault encrypt`)\n";
  }
  std::cout << std::flush;
}

// `--max-age`: kFailedPrecondition (key_too_old) when the primary was first
// seen more than `max_age_days` ago, or (no_lifecycle_table) when nothing records it.
Status CheckPrimaryAge(const Keyring& keyring, const Lifecycle& lifecycle, long long max_age_days) {
  const std::string& primary = keyring.primary_kid();
  if (!lifecycle || !lifecycle->count(primary)) {
    return FailedPreconditionError("--max-age: the database has no credvault_keys table yet; run `credvault "
                                   "migrate` once with this version",
                                   "no_lifecycle_table");
  }
  const double age = lifecycle->at(primary).age_days;
  if (age > static_cast<double>(max_age_days)) {
    return FailedPreconditionError(fmt::format("the primary key {} was first seen {} ({:.0f} days ago), more than "
                                               "--max-age {} days: rotate to a new key",
                                               primary, lifecycle->at(primary).first_seen, age,
                                               max_age_days),
                                   "key_too_old");
  }
  return Status::Ok();
}

}  // namespace

void RegisterKeysCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("keys", "The keyring, and for each kid how many values use it");
  struct Options { bool json = false; long long max_age_days = -1; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--json", options->json, "Machine-readable output");
  sub->add_option("--max-age", options->max_age_days,
                  "Exit 5 when the primary key was first seen more than DAYS days ago")
      ->check(WholeNumber(0, 100000));
  RegisterKeysRetireCommand(*sub, commands);
  RegisterKeysRewrapCommand(*sub, commands);
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> probe, context.Connect("credvault keys"));
    auto counts = jobs::CountValuesByKid(context.settings().database_url);
    if (!counts.ok()) return counts.status();
    std::vector<std::string> ring_kids;
    for (const auto& key : keyring.keys()) ring_kids.push_back(key.kid);
    context.metrics().ValueCounts(*counts, ring_kids);
    CV_RETURN_IF_ERROR(RecordKidsInUse(context, *probe, keyring, *counts, options->max_age_days >= 0));
    CV_ASSIGN_OR_RETURN(Lifecycle lifecycle, ledger::ReadKeyLifecycle(*probe));
    const nlohmann::json out = KeysReport(keyring, *counts, lifecycle);
    if (options->json) {
      std::cout << out.dump() << std::endl;
    } else {
      PrintKeysReport(out);
    }
    for (const auto& unknown : out["unknown_kids"]) {
      context.log().warn("{} value(s) are under key {}, which is NOT in the keyring: they cannot be decrypted; add that "
                         "key as a fallback",
                         unknown["values"].get<std::uint64_t>(), unknown["kid"].get<std::string>());
    }
    if (options->max_age_days >= 0) return CheckPrimaryAge(keyring, lifecycle, options->max_age_days);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
