#include "crypto/aead.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>

#include "credvault/reasons.hpp"

namespace credvault::crypto {
namespace {

Status AuthFailed() { return DataLossError("authentication failed", reason::kAuthFailed); }

const unsigned char* Bytes(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

// libsodium's IETF AEAD constructions share one calling convention; only the
// functions and sizes differ.
using SodiumEncrypt = int (*)(unsigned char*, unsigned long long*, const unsigned char*, unsigned long long,
                              const unsigned char*, unsigned long long, const unsigned char*, const unsigned char*,
                              const unsigned char*);
using SodiumDecrypt = int (*)(unsigned char*, unsigned long long*, unsigned char*, const unsigned char*,
                              unsigned long long, const unsigned char*, unsigned long long, const unsigned char*,
                              const unsigned char*);

template <SodiumEncrypt kEncrypt, SodiumDecrypt kDecrypt, std::size_t kNonceSize>
class SodiumAead final : public Aead {
 public:
  explicit SodiumAead(const std::uint8_t* key) : key_(key, 32) {}
  std::size_t nonce_size() const override { return kNonceSize; }

  Status Seal(const std::uint8_t* nonce, std::string_view plaintext, std::string_view aad,
              std::uint8_t* out) const override {
    unsigned long long written = 0;
    kEncrypt(out, &written, Bytes(plaintext), plaintext.size(), Bytes(aad), aad.size(), nullptr, nonce, key_.data());
    return Status::Ok();
  }

  Status Open(const std::uint8_t* nonce, std::string_view sealed, std::string_view aad,
              std::uint8_t* out) const override {
    if (sealed.size() < kTagLength) return AuthFailed();
    unsigned long long written = 0;
    if (kDecrypt(out, &written, nullptr, Bytes(sealed), sealed.size(), Bytes(aad), aad.size(), nonce, key_.data()) != 0) {
      return AuthFailed();
    }
    return Status::Ok();
  }

 private:
  SecretBytes key_;
};

using XChaCha20Poly1305 = SodiumAead<crypto_aead_xchacha20poly1305_ietf_encrypt,
                                     crypto_aead_xchacha20poly1305_ietf_decrypt,
                                     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>;
using ChaCha20Poly1305Ietf = SodiumAead<crypto_aead_chacha20poly1305_ietf_encrypt,
                                        crypto_aead_chacha20poly1305_ietf_decrypt,
                                        crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

// One EVP context per thread, reused: creating one per value would dominate
// the cost of short values. Between uses it holds no key schedule (see
// ForgetKey); freed (and cleansed by OpenSSL) at thread exit.
EVP_CIPHER_CTX* ThreadCipherContext() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

// Re-keys the thread's context with an all-zero key once a value is done:
// the AES key schedule and GHASH key of the last key used are overwritten
// in place (cheaper than freeing and re-creating the context per value).
void ForgetKey(EVP_CIPHER_CTX* ctx) {
  static const std::uint8_t kZeroKey[32] = {};
  if (ctx != nullptr) EVP_EncryptInit_ex(ctx, nullptr, nullptr, kZeroKey, nullptr);
}

class Aes256Gcm final : public Aead {
 public:
  explicit Aes256Gcm(const std::uint8_t* key) : key_(key, 32) {}
  std::size_t nonce_size() const override { return 12; }

  Status Seal(const std::uint8_t* nonce, std::string_view plaintext, std::string_view aad,
              std::uint8_t* out) const override {
    EVP_CIPHER_CTX* ctx = ThreadCipherContext();
    int len = 0;
    bool ok = ctx != nullptr && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
              (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1) &&
              (plaintext.empty() ||
               EVP_EncryptUpdate(ctx, out, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) == 1) &&
              EVP_EncryptFinal_ex(ctx, out + plaintext.size(), &len) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagLength, out + plaintext.size()) == 1;
    ForgetKey(ctx);
    return ok ? Status::Ok() : InternalError("AES-256-GCM encryption failed");
  }

  Status Open(const std::uint8_t* nonce, std::string_view sealed, std::string_view aad,
              std::uint8_t* out) const override {
    if (sealed.size() < kTagLength) return AuthFailed();
    const std::size_t n = sealed.size() - kTagLength;
    EVP_CIPHER_CTX* ctx = ThreadCipherContext();
    int len = 0;
    std::uint8_t tag[kTagLength];
    std::memcpy(tag, sealed.data() + n, kTagLength);
    bool ok = ctx != nullptr && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
              (aad.empty() || EVP_DecryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1) &&
              (n == 0 || EVP_DecryptUpdate(ctx, out, &len, Bytes(sealed), static_cast<int>(n)) == 1) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagLength, tag) == 1 &&
              EVP_DecryptFinal_ex(ctx, out + n, &len) == 1;
    ForgetKey(ctx);
    if (!ok) {
      if (n > 0) sodium_memzero(out, n);
      return AuthFailed();
    }
    return Status::Ok();
  }

 private:
  SecretBytes key_;
};

}  // namespace

std::unique_ptr<Aead> NewAead(Algorithm algorithm, const std::uint8_t* key) {
  if (algorithm == Algorithm::kAes256Gcm) return std::make_unique<Aes256Gcm>(key);
  return std::make_unique<XChaCha20Poly1305>(key);
}

void* ThreadCipherContextForTesting() { return ThreadCipherContext(); }

std::unique_ptr<Aead> NewChaCha20Poly1305ForTesting(const std::uint8_t* key) {
  return std::make_unique<ChaCha20Poly1305Ietf>(key);
}

}  // namespace credvault::crypto
