// credvault keys: the keyring (never the keys) and how many values use each kid.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "common/status_macros.hpp"
#include "jobs/jobs.hpp"

namespace credvault::cli {

void RegisterKeysCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("keys", "The keyring, and for each kid how many values use it");
  struct Options { bool json = false; };
  auto options = std::make_shared<Options>();
  sub->add_flag("--json", options->json, "Machine-readable output");
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_ASSIGN_OR_RETURN(Keyring keyring, context.keyring());
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> probe, context.Connect("credvault keys"));
    auto counts = jobs::CountValuesByKid(context.settings().database_url);
    if (!counts.ok()) return counts.status();
    std::vector<std::string> ring_kids;
    for (const auto& key : keyring.keys()) ring_kids.push_back(key.kid);
    context.metrics().ValueCounts(*counts, ring_kids);
    auto total = [&](const std::string& kid) {
      std::uint64_t n = 0;
      if (counts->count(kid)) {
        for (const auto& [column, c] : counts->at(kid)) n += c;
      }
      return n;
    };

    nlohmann::json out = {{"keys", nlohmann::json::array()}, {"unknown_kids", nlohmann::json::array()}};
    for (const auto& key : keyring.keys()) {
      nlohmann::json columns = counts->count(key.kid) ? nlohmann::json(counts->at(key.kid)) : nlohmann::json::object();
      const std::uint64_t used = total(key.kid);
      out["keys"].push_back({{"kid", key.kid}, {"role", key.primary ? "primary" : "fallback"}, {"source", key.source},
                             {"values", used}, {"by_column", columns},
                             {"safe_to_remove", !key.primary && used == 0}});
    }
    for (const auto& [kid, columns] : *counts) {
      if (kid.empty() || keyring.HasKid(kid)) continue;
      out["unknown_kids"].push_back({{"kid", kid}, {"values", total(kid)}, {"by_column", columns}});
    }
    out["plaintext_values"] = total("");

    if (options->json) {
      std::cout << out.dump() << std::endl;
    } else {
      for (const auto& key : out["keys"]) {
        std::cout << key["kid"].get<std::string>() << "  " << key["role"].get<std::string>() << "  "
                  << key["values"].get<std::uint64_t>() << " value(s)";
        for (const auto& [column, n] : key["by_column"].items()) std::cout << "  " << column << "=" << n;
        std::cout << "  from " << key["source"].get<std::string>();
        if (key["safe_to_remove"].get<bool>()) std::cout << "  — unused: safe to remove";
        std::cout << "\n";
      }
      if (out["plaintext_values"].get<std::uint64_t>() > 0) {
        std::cout << "plaintext  " << out["plaintext_values"].get<std::uint64_t>() << " value(s) not encrypted yet (run `credvault encrypt`)\n";
      }
      std::cout << std::flush;
    }
    for (const auto& unknown : out["unknown_kids"]) {
      context.log().warn("{} value(s) are under key {}, which is NOT in the keyring: they cannot be decrypted; add that "
                         "key as a fallback",
                         unknown["values"].get<std::uint64_t>(), unknown["kid"].get<std::string>());
    }
    return Status::Ok();
  });
}

}  // namespace credvault::cli
