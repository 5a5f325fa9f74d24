// Arbitrary key text through the key parser and keyring construction.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "credvault/keyring.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ikm = credvault::ParseKeyMaterial(text);
  if (!ikm.ok()) {
    // Errors never echo the key: a DEL byte in the input never shows up in the message.
    if (text.find('\x7f') != std::string_view::npos && ikm.status().message().find('\x7f') != std::string::npos) {
      std::abort();
    }
    return 0;
  }
  if (ikm->size() < 32) std::abort();
  auto kid = credvault::DeriveKid(*ikm);
  if (!kid.ok() || kid->size() != 8) std::abort();
  auto ring = credvault::Keyring::Create({credvault::SecretBytes(data, size), "fuzz"}, {});
  if (!ring.ok()) std::abort();
  return 0;
}
