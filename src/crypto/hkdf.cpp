#include "crypto/hkdf.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

namespace credvault::crypto {

Status HkdfSha256(const std::uint8_t* salt, std::size_t salt_size, const std::uint8_t* ikm, std::size_t ikm_size,
                  const std::uint8_t* info, std::size_t info_size, std::uint8_t* out, std::size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return InternalError("OpenSSL has no HKDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return InternalError("cannot create an HKDF context");
  // OpenSSL reads these buffers; the casts only satisfy its non-const API.
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm), ikm_size),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt), salt_size),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info), info_size),
      OSSL_PARAM_construct_end(),
  };
  int ok = EVP_KDF_derive(ctx, out, length, params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return InvalidArgumentError("HKDF derivation failed (output length out of range?)");
  return Status::Ok();
}

}  // namespace credvault::crypto
