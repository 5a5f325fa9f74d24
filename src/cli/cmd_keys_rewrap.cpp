// credvault keys rewrap --to 'pkcs11:...' FILE...: re-wrap wrapped key files
// under a new key-encryption key. The data keys (and so every kid and every
// stored value) stay the same: no row is touched.
#include <iostream>

#include "cli/audit.hpp"
#include "cli/command.hpp"
#include "common/status_macros.hpp"
#include "crypto/pkcs11_uri.hpp"
#include "crypto/wrapped_key.hpp"

namespace credvault::cli {

void RegisterKeysRewrapCommand(CLI::App& keys, CommandTable& commands) {
  CLI::App* sub = keys.add_subcommand(
      "rewrap", "Re-wrap wrapped key files under a new HSM key-encryption key (no row is touched)");
  struct Options { std::string to; std::vector<std::string> files; };
  auto options = std::make_shared<Options>();
  sub->add_option("--to", options->to, "The new KEK's pkcs11: URI")->required();
  sub->add_option("FILE", options->files, "Wrapped key files (wrapped:PATH's PATH)")->required();
  commands.Add(sub, [options](CommandContext& context) -> Status {
    CV_RETURN_IF_ERROR(crypto::ParsePkcs11Uri(options->to).status().Annotate("--to"));
    // Connect first: a rewrap that cannot be recorded is not started.
    CV_ASSIGN_OR_RETURN(std::unique_ptr<db::Connection> probe, context.Connect("credvault keys rewrap"));
    const KeySourceOptions sources = KeySourceOptionsFromEnvironment();
    for (const std::string& file : options->files) {
      auto kid = crypto::RewrapKeyFile(file, options->to, sources);
      if (!kid.ok()) return kid.status().Annotate(file);
      CV_RETURN_IF_ERROR(RecordEvent(context, "key_rewrapped",
                                     ledger::EventDetails().AddText("kid", *kid).AddText("file", file).AddText(
                                         "kek", options->to)));
      std::cout << "rewrapped " << file << " (kid " << *kid << ") under " << options->to << std::endl;
    }
    return Status::Ok();
  });
}

}  // namespace credvault::cli
