// For applications that want the CLI's key configuration: builds a Keyring
// from SECRET_KEY (primary) and SECRET_KEY_FALLBACKS (comma-separated).
//
// Header-only on purpose: the credvault library itself never reads the
// environment; this code runs in your application, which chose to.
#pragma once

#include <cstdlib>
#include <string_view>
#include <vector>

#include "credvault/keyring.hpp"

namespace credvault {

inline StatusOr<Keyring> KeyringFromEnvironment() {
  const char* primary = std::getenv("SECRET_KEY");
  if (primary == nullptr || *primary == '\0') {
    return InvalidArgumentError("SECRET_KEY is not set", "no_key");
  }
  std::vector<KeySpec> fallbacks;
  if (const char* list = std::getenv("SECRET_KEY_FALLBACKS")) {
    std::string_view rest(list);
    std::size_t index = 1;
    while (!rest.empty()) {
      std::string_view entry = rest.substr(0, rest.find(','));
      fallbacks.push_back(KeySpec{SecretBytes::FromString(entry),
                                  "SECRET_KEY_FALLBACKS entry " + std::to_string(index++)});
      if (entry.size() == rest.size()) break;
      rest.remove_prefix(entry.size() + 1);
    }
  }
  return Keyring::Create(KeySpec{SecretBytes::FromString(primary), "environment variable SECRET_KEY"},
                         std::move(fallbacks));
}

}  // namespace credvault
