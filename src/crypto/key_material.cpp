// Key text → input keying material, kid derivation, key generation (docs/ARCHITECTURE.md, "Keys").
#include <sodium.h>

#include "common/utf8.hpp"
#include "credvault/keyring.hpp"
#include "credvault/reasons.hpp"
#include "crypto/hkdf.hpp"

namespace credvault {
namespace {

constexpr std::string_view kBase64Prefix = "base64:";
constexpr std::size_t kMinKeyBytes = 32;

}  // namespace

StatusOr<SecretBytes> ParseKeyMaterial(std::string_view text) {
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\r\n") {
    text.remove_suffix(2);
  } else if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (text.substr(0, kBase64Prefix.size()) == kBase64Prefix) {
    std::string_view encoded = text.substr(kBase64Prefix.size());
    SecretBytes ikm(encoded.size() + 1);
    std::size_t written = 0;
    const char* end = nullptr;
    if (sodium_base642bin(ikm.data(), ikm.size(), encoded.data(), encoded.size(), nullptr, &written, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != encoded.data() + encoded.size()) {
      return InvalidArgumentError("key starts with base64: but the rest is not standard base64", reason::kBadKey);
    }
    if (written != kMinKeyBytes) {
      return InvalidArgumentError("a base64: key must decode to exactly 32 bytes; this one has " +
                                      std::to_string(written) + " (create one with `credvault keygen`)",
                                  reason::kWeakKey);
    }
    return SecretBytes(ikm.data(), written);
  }
  if (text.size() < kMinKeyBytes) {
    return InvalidArgumentError("key is too short: " + std::to_string(text.size()) +
                                    " bytes, at least 32 required (create one with `credvault keygen`)",
                                reason::kWeakKey);
  }
  if (!IsValidUtf8(text)) return InvalidArgumentError("key is not valid UTF-8", reason::kBadKey);
  return SecretBytes::FromString(text);
}

SecretBytes GenerateKeyText() {
  SecretBytes raw(kMinKeyBytes);
  randombytes_buf(raw.data(), raw.size());
  const std::size_t encoded_size = sodium_base64_ENCODED_LEN(kMinKeyBytes, sodium_base64_VARIANT_ORIGINAL);
  SecretBytes text(kBase64Prefix.size() + encoded_size);
  std::copy(kBase64Prefix.begin(), kBase64Prefix.end(), reinterpret_cast<char*>(text.data()));
  sodium_bin2base64(reinterpret_cast<char*>(text.data()) + kBase64Prefix.size(), encoded_size, raw.data(), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  // Drop the terminating NUL that sodium_bin2base64 writes.
  return SecretBytes(text.data(), text.size() - 1);
}

StatusOr<std::string> DeriveKid(const SecretBytes& ikm) {
  if (ikm.size() == 0) return InvalidArgumentError("cannot derive a kid from empty key material", reason::kBadKey);
  std::uint8_t kid[4];
  constexpr std::string_view info = "credvault kid";
  Status derived = crypto::HkdfSha256(reinterpret_cast<const std::uint8_t*>(crypto::kCredvaultSalt.data()),
                                      crypto::kCredvaultSalt.size(), ikm.data(), ikm.size(),
                                      reinterpret_cast<const std::uint8_t*>(info.data()), info.size(), kid, sizeof kid);
  if (!derived.ok()) return InternalError("kid derivation failed: " + derived.message());
  char hex[2 * sizeof kid + 1];
  sodium_bin2hex(hex, sizeof hex, kid, sizeof kid);
  return std::string(hex);
}

}  // namespace credvault
