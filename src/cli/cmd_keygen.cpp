// credvault keygen: print a new random key, or write it to a new 0600 file.
#include <iostream>

#include "cli/command.hpp"
#include "common/status_macros.hpp"
#include "credvault/keyring.hpp"
#include "credvault/reasons.hpp"
#include "crypto/key_file.hpp"
#include "crypto/wrapped_key.hpp"

namespace credvault::cli {

void RegisterKeygenCommand(CLI::App& app, CommandTable& commands) {
  CLI::App* sub = app.add_subcommand("keygen", "Print a new base64: key, or write it to a new file (mode 0600)");
  auto out = std::make_shared<std::string>();
  auto wrap_with = std::make_shared<std::string>();
  sub->add_option("--out", *out, "Write the key to this file (created 0600; never overwritten)");
  sub->add_option("--wrap-with", *wrap_with,
                  "Wrap the new key with this HSM key (pkcs11: URI) and write the wrapped key file given by --out; "
                  "use it as wrapped:FILE");
  commands.Add(sub, [out, wrap_with](CommandContext& context) -> Status {
    if (!wrap_with->empty()) {
      if (out->empty()) return InvalidArgumentError("--wrap-with needs --out FILE", reason::kUsage);
      CV_ASSIGN_OR_RETURN(std::string kid,
                          crypto::CreateWrappedKeyFile(*out, *wrap_with, KeySourceOptionsFromEnvironment()));
      context.log().info("wrote a new wrapped key to {} (mode 0600), kid {}; use it as wrapped:{}", *out, kid, *out);
      return Status::Ok();
    }
    SecretBytes key = GenerateKeyText();
    if (out->empty()) {
      std::cout.write(key.view().data(), static_cast<std::streamsize>(key.size()));
      std::cout << "\n" << std::flush;
      return Status::Ok();
    }
    CV_RETURN_IF_ERROR(crypto::WriteNewKeyFile(*out, key));
    CV_ASSIGN_OR_RETURN(SecretBytes ikm, ParseKeyMaterial(key.view()));
    CV_ASSIGN_OR_RETURN(std::string kid, DeriveKid(ikm));
    context.log().info("wrote a new key to {} (mode 0600), kid {}", *out, kid);
    return Status::Ok();
  });
}

}  // namespace credvault::cli
