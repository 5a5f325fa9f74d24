// Wycheproof vectors for every primitive credvault uses, valid and invalid.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "crypto/aead.hpp"
#include "crypto/hkdf.hpp"
#include "support/test_support.hpp"

using credvault::Algorithm;
using credvault::kTagLength;

namespace {

std::string Hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

const std::uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

nlohmann::json Load(const std::string& name) {
  return nlohmann::json::parse(credvault::testing::ReadFile(credvault::testing::TestDataDir() + "/wycheproof/" + name));
}

struct Counts {
  int valid = 0;
  int invalid = 0;
};

// Runs every vector of an AEAD file whose key, nonce and tag sizes the
// primitive takes. With fixed_nonce_size, the primitive has exactly one
// nonce size, so vectors with any other nonce size must all be invalid.
template <typename MakeAead>
Counts RunAeadFile(const std::string& file, std::size_t nonce_size, bool fixed_nonce_size, MakeAead make_aead,
                   std::size_t key_bits = 256) {
  Counts counts;
  const nlohmann::json vectors = Load(file);
  for (const auto& group : vectors["testGroups"]) {
    const bool supported = group["ivSize"] == nonce_size * 8 && group["keySize"] == key_bits && group["tagSize"] == 128;
    for (const auto& test : group["tests"]) {
      const std::string key = Hex(test["key"]), iv = Hex(test["iv"]), aad = Hex(test["aad"]), msg = Hex(test["msg"]),
                        ct = Hex(test["ct"]), tag = Hex(test["tag"]);
      const bool valid = test["result"] == "valid";
      INFO(file << " tcId " << test["tcId"].get<int>());
      if (!supported) {
        if (fixed_nonce_size && group["ivSize"] != nonce_size * 8 && group["keySize"] == key_bits &&
            group["tagSize"] == 128) {
          CHECK(!valid);  // a nonce size we refuse must never be a valid vector
          ++counts.invalid;
        }
        continue;
      }
      auto aead = make_aead(Bytes(key));
      const std::string sealed = ct + tag;
      std::string opened(msg.size(), '\0');
      auto status = aead->Open(Bytes(iv), sealed, aad, reinterpret_cast<std::uint8_t*>(opened.data()));
      if (valid) {
        CHECK(status.ok());
        CHECK(opened == msg);
        std::string out(msg.size() + kTagLength, '\0');
        REQUIRE(aead->Seal(Bytes(iv), msg, aad, reinterpret_cast<std::uint8_t*>(out.data())).ok());
        CHECK(out == sealed);
        ++counts.valid;
      } else {
        CHECK(!status.ok());
        if (!status.ok()) CHECK(status.reason() == "auth_failed");
        ++counts.invalid;
      }
    }
  }
  return counts;
}

}  // namespace

TEST_CASE("Wycheproof XChaCha20-Poly1305", "[crypto][wycheproof]") {
  auto counts = RunAeadFile("xchacha20_poly1305_test.json", 24, true, [](const std::uint8_t* key) {
    return credvault::crypto::NewAead(Algorithm::kXChaCha20Poly1305, key);
  });
  CHECK(counts.valid > 200);
  CHECK(counts.invalid > 40);
}

TEST_CASE("Wycheproof ChaCha20-Poly1305 (libsodium binding sanity check)", "[crypto][wycheproof]") {
  auto counts = RunAeadFile("chacha20_poly1305_test.json", 12, true, [](const std::uint8_t* key) {
    return credvault::crypto::NewChaCha20Poly1305ForTesting(key);
  });
  CHECK(counts.valid > 200);
  CHECK(counts.invalid > 40);
}

TEST_CASE("Wycheproof AES-256-GCM (12-byte IV, 16-byte tag)", "[crypto][wycheproof]") {
  auto counts = RunAeadFile("aes_gcm_test.json", 12, false, [](const std::uint8_t* key) {
    return credvault::crypto::NewAead(Algorithm::kAes256Gcm, key);
  });
  CHECK(counts.valid > 30);
  CHECK(counts.invalid > 10);
}

TEST_CASE("Wycheproof HKDF-SHA256", "[crypto][wycheproof]") {
  int valid = 0, invalid = 0;
  const nlohmann::json vectors = Load("hkdf_sha256_test.json");
  for (const auto& group : vectors["testGroups"]) {
    for (const auto& test : group["tests"]) {
      INFO("tcId " << test["tcId"].get<int>());
      const std::string ikm = Hex(test["ikm"]), salt = Hex(test["salt"]), info = Hex(test["info"]);
      const std::size_t size = test["size"];
      std::string okm(size, '\0');
      auto status = credvault::crypto::HkdfSha256(Bytes(salt), salt.size(), Bytes(ikm), ikm.size(), Bytes(info),
                                                  info.size(), reinterpret_cast<std::uint8_t*>(okm.data()), size);
      if (test["result"] == "valid") {
        REQUIRE(status.ok());
        CHECK(okm == Hex(test["okm"]));
        ++valid;
      } else {
        CHECK(!status.ok());
        ++invalid;
      }
    }
  }
  CHECK(valid == 83);
  CHECK(invalid == 3);
}
