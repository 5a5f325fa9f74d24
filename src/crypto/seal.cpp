#include "crypto/seal.hpp"

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/base64url.hpp"

#include <cstring>
#include <vector>

namespace credvault::crypto {

StatusOr<std::string> SealEnvelope(const Aead& aead, Algorithm algorithm, std::string_view kid,
                                   const std::uint8_t* nonce, std::string_view plaintext,
                                   const ValueContext& context) {
  std::string header = "cv1:";
  header += static_cast<char>(algorithm);
  header += ':';
  header.append(kid);
  header += ':';
  const std::size_t nonce_size = aead.nonce_size();
  // The buffer holds ciphertext only; it is not secret.
  thread_local std::vector<std::uint8_t> raw;
  raw.resize(nonce_size + plaintext.size() + kTagLength);
  std::memcpy(raw.data(), nonce, nonce_size);
  CV_RETURN_IF_ERROR(aead.Seal(nonce, plaintext, BuildAad(header, context), raw.data() + nonce_size));
  header.reserve(CiphertextLength(plaintext.size(), algorithm));
  AppendBase64Url(raw.data(), raw.size(), header);
  return header;
}

StatusOr<std::size_t> OpenEnvelope(const Aead& aead, const Envelope& envelope, const ValueContext& context,
                                   SecretBytes& scratch) {
  // ParseEnvelope checked the payload. It is ciphertext: not secret.
  thread_local std::vector<std::uint8_t> decoded;
  decoded.resize(envelope.payload.size() * 3 / 4 + 3);
  const std::string_view raw(reinterpret_cast<const char*>(decoded.data()),
                             DecodeCheckedBase64Url(envelope.payload, decoded.data()));
  const std::size_t nonce_size = aead.nonce_size();
  if (raw.size() < nonce_size + kTagLength) {
    return InvalidArgumentError("not a valid credvault v1 value: payload shorter than nonce and tag", reason::kTooShort);
  }
  const std::size_t plaintext_size = raw.size() - nonce_size - kTagLength;
  if (scratch.size() < plaintext_size) scratch = SecretBytes(plaintext_size < 256 ? 256 : plaintext_size * 2);
  const auto* nonce = reinterpret_cast<const std::uint8_t*>(raw.data());
  Status opened = aead.Open(nonce, raw.substr(nonce_size), BuildAad(envelope.header, context),
                            scratch.data());
  if (!opened.ok()) {
    return DataLossError("value under key " + std::string(envelope.kid) +
                             " does not authenticate: wrong key, tampered, or moved to another row or column",
                         reason::kAuthFailed);
  }
  return plaintext_size;
}

}  // namespace credvault::crypto
