// For applications that want the CLI's key configuration: builds a Keyring
// from SECRET_KEY (primary) and SECRET_KEY_FALLBACKS (comma-separated), each
// a key or a key source (exec:, file:, wrapped:; see key_source.hpp), with
// CREDVAULT_PKCS11_MODULE and CREDVAULT_PKCS11_PIN for wrapped: keys.
//
// Header-only on purpose: the credvault library itself never reads the
// environment; this code runs in your application, which chose to.
#pragma once

#include <cstdlib>
#include <string_view>
#include <vector>

#include "credvault/key_source.hpp"
#include "credvault/keyring.hpp"
#include "credvault/reasons.hpp"

namespace credvault {

inline StatusOr<Keyring> KeyringFromEnvironment() {
  const char* primary = std::getenv("SECRET_KEY");
  if (primary == nullptr || *primary == '\0') {
    return InvalidArgumentError("SECRET_KEY is not set", reason::kNoKey);
  }
  KeySourceOptions options;
  if (const char* module = std::getenv("CREDVAULT_PKCS11_MODULE")) options.pkcs11_module = module;
  if (const char* pin = std::getenv("CREDVAULT_PKCS11_PIN")) options.pkcs11_pin = SecretBytes::FromString(pin);
  auto resolve = [&options](std::string_view text, std::string source) -> StatusOr<KeySpec> {
    auto key = ResolveKeySource(SecretBytes::FromString(text), options);
    if (!key.ok()) return key.status().Annotate(source);
    return KeySpec{std::move(key).value(), std::move(source)};
  };
  std::vector<KeySpec> fallbacks;
  if (const char* list = std::getenv("SECRET_KEY_FALLBACKS")) {
    std::string_view rest(list);
    std::size_t index = 1;
    while (!rest.empty()) {
      std::string_view entry = rest.substr(0, rest.find(','));
      auto key = resolve(entry, "SECRET_KEY_FALLBACKS entry " + std::to_string(index++));
      if (!key.ok()) return key.status();
      fallbacks.push_back(std::move(key).value());
      if (entry.size() == rest.size()) break;
      rest.remove_prefix(entry.size() + 1);
    }
  }
  auto key = resolve(primary, "environment variable SECRET_KEY");
  if (!key.ok()) return key.status();
  return Keyring::Create(std::move(key).value(), std::move(fallbacks));
}

}  // namespace credvault
