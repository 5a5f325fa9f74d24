#include "credvault/keyring.hpp"

#include <sodium.h>

#include <cstring>

#include "common/status_macros.hpp"
#include "credvault/reasons.hpp"
#include "crypto/aead.hpp"
#include "crypto/base64url.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/keyring_access.hpp"
#include "crypto/nonce.hpp"
#include "crypto/seal.hpp"

namespace credvault {
namespace {

// One key of the ring with an AEAD for each algorithm, so a value written
// under either algorithm decrypts whatever the ring's default is.
struct RingKey {
  std::string kid;
  std::string source;
  bool primary = false;
  std::unique_ptr<crypto::Aead> xchacha;
  std::unique_ptr<crypto::Aead> aes_gcm;
  // docs/FORMAT.md, "Blind index of client_id": HMAC-SHA256 under the index
  // key, kept as the state after the key is absorbed (a crypto_auth_hmacsha256_state),
  // so that each index costs two SHA-256 blocks fewer (rotate computes one a row).
  SecretBytes client_id_index_state;

  const crypto::Aead& aead(Algorithm alg) const { return alg == Algorithm::kAes256Gcm ? *aes_gcm : *xchacha; }
};

StatusOr<SecretBytes> DeriveKey(const SecretBytes& ikm, std::string_view info) {
  SecretBytes key(32);
  CV_RETURN_IF_ERROR(crypto::HkdfSha256(reinterpret_cast<const std::uint8_t*>(crypto::kCredvaultSalt.data()),
                                        crypto::kCredvaultSalt.size(), ikm.data(), ikm.size(),
                                        reinterpret_cast<const std::uint8_t*>(info.data()), info.size(), key.data(),
                                        key.size()));
  return key;
}

StatusOr<std::unique_ptr<crypto::Aead>> DeriveAead(const SecretBytes& ikm, Algorithm alg) {
  std::string info = "credvault aead ";
  info += static_cast<char>(alg);
  CV_ASSIGN_OR_RETURN(SecretBytes key, DeriveKey(ikm, info));
  return crypto::NewAead(alg, key.data());
}

std::string IndexUnder(const RingKey& key, std::string_view client_id) {
  std::uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  std::memcpy(&state, key.client_id_index_state.data(), sizeof state);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(client_id.data()), client_id.size());
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);
  std::string index = key.kid + ":";
  crypto::AppendBase64Url(mac, 16, index);  // truncated to 128 bits
  return index;
}

StatusOr<RingKey> MakeRingKey(const KeySpec& spec, bool primary) {
  auto ikm = ParseKeyMaterial(spec.text.view());
  if (!ikm.ok()) return ikm.status().Annotate(spec.source);
  RingKey key;
  CV_ASSIGN_OR_RETURN(key.kid, DeriveKid(*ikm));
  key.source = spec.source;
  key.primary = primary;
  CV_ASSIGN_OR_RETURN(key.xchacha, DeriveAead(*ikm, Algorithm::kXChaCha20Poly1305));
  CV_ASSIGN_OR_RETURN(key.aes_gcm, DeriveAead(*ikm, Algorithm::kAes256Gcm));
  CV_ASSIGN_OR_RETURN(SecretBytes index_key, DeriveKey(*ikm, "credvault blind index credentials.client_id"));
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, index_key.data(), index_key.size());
  key.client_id_index_state = SecretBytes(&state, sizeof state);
  sodium_memzero(&state, sizeof state);
  return key;
}

}  // namespace

struct Keyring::State {
  Algorithm algorithm = Algorithm::kXChaCha20Poly1305;
  std::vector<RingKey> keys;  // primary first

  const RingKey* Find(std::string_view kid) const {
    for (const auto& key : keys) {
      if (key.kid == kid) return &key;
    }
    return nullptr;
  }
};

Keyring::Keyring(std::shared_ptr<const State> state) : state_(std::move(state)) {}

StatusOr<Keyring> Keyring::Create(KeySpec primary, std::vector<KeySpec> fallbacks, Algorithm algorithm) {
  auto state = std::make_shared<State>();
  state->algorithm = algorithm;
  CV_ASSIGN_OR_RETURN(RingKey primary_key, MakeRingKey(primary, true));
  state->keys.push_back(std::move(primary_key));
  for (const auto& spec : fallbacks) {
    CV_ASSIGN_OR_RETURN(RingKey key, MakeRingKey(spec, false));
    if (const RingKey* twin = state->Find(key.kid)) {
      return InvalidArgumentError(key.source + " and " + twin->source + " are the same key (kid " + key.kid + ")",
                                  reason::kDuplicateKid);
    }
    state->keys.push_back(std::move(key));
  }
  return Keyring(std::move(state));
}

const std::string& Keyring::primary_kid() const { return state_->keys.front().kid; }
Algorithm Keyring::algorithm() const { return state_->algorithm; }

std::vector<KeyInfo> Keyring::keys() const {
  std::vector<KeyInfo> out;
  for (const auto& key : state_->keys) out.push_back(KeyInfo{key.kid, key.primary, key.source});
  return out;
}

bool Keyring::HasKid(std::string_view kid) const { return state_->Find(kid) != nullptr; }

StatusOr<std::string> Keyring::Encrypt(std::string_view plaintext, const ValueContext& context) const {
  const RingKey& primary = state_->keys.front();
  const crypto::Aead& aead = primary.aead(state_->algorithm);
  std::uint8_t nonce[24];
  crypto::FillRandomNonce(nonce, aead.nonce_size());
  return crypto::SealEnvelope(aead, state_->algorithm, primary.kid, nonce, plaintext, context);
}

StatusOr<std::size_t> crypto::KeyringAccess::DecryptInto(const Keyring& ring, std::string_view value,
                                                         const ValueContext& context, SecretBytes& scratch) {
  CV_ASSIGN_OR_RETURN(Envelope envelope, ParseEnvelope(value));
  const RingKey* key = ring.state_->Find(envelope.kid);
  if (key == nullptr) {
    return NotFoundError("value is under key " + std::string(envelope.kid) + ", which is not in the keyring",
                         reason::kUnknownKid);
  }
  return crypto::OpenEnvelope(key->aead(envelope.algorithm), envelope, context, scratch);
}

StatusOr<std::string> crypto::KeyringAccess::ClientIdIndex(const Keyring& ring, std::string_view kid,
                                                          std::string_view client_id) {
  const RingKey* key = ring.state_->Find(kid);
  if (key == nullptr) {
    return NotFoundError("key " + std::string(kid) + " is not in the keyring", reason::kUnknownKid);
  }
  return IndexUnder(*key, client_id);
}

std::vector<std::string> crypto::KeyringAccess::ClientIdIndexUnderEveryKey(const Keyring& ring,
                                                                           std::string_view client_id) {
  std::vector<std::string> out;
  for (const auto& key : ring.state_->keys) out.push_back(IndexUnder(key, client_id));
  return out;
}

StatusOr<SecretBytes> Keyring::Decrypt(std::string_view value, const ValueContext& context) const {
  thread_local SecretBytes scratch;
  CV_ASSIGN_OR_RETURN(std::size_t length, crypto::DecryptInto(*this, value, context, scratch));
  SecretBytes plaintext(scratch.data(), length);
  sodium_memzero(scratch.data(), length);
  return plaintext;
}

}  // namespace credvault
