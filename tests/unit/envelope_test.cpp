// The v1 format: round trips, strict parsing, AAD binding, lengths and the
// worked example of docs/FORMAT.md.
#include <catch2/catch.hpp>

#include <set>

#include "credvault/envelope.hpp"
#include "credvault/keyring.hpp"
#include "crypto/aead.hpp"
#include "crypto/base64url.hpp"
#include "crypto/seal.hpp"
#include "crypto/stored_value.hpp"
#include "support/test_support.hpp"

using namespace credvault;

namespace {

const ValueContext kContext{"credentials", "refresh_token", "42"};

Keyring MakeRing(const std::string& key, Algorithm alg = Algorithm::kXChaCha20Poly1305,
                 std::vector<std::string> fallbacks = {}) {
  return testing::MakeKeyring(key, fallbacks, alg);
}

std::string PlaintextOfLength(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('!' + (i * 7) % 90));
  return s;
}

// The error's reason for decrypting `value` at kContext, "" if it decrypts.
std::string Rejection(const Keyring& ring, const std::string& value, const ValueContext& context = kContext) {
  auto result = ring.Decrypt(value, context);
  return result.ok() ? "" : result.status().reason();
}

}  // namespace

TEST_CASE("round trip for every length 0..400, both algorithms, length formula exact", "[envelope]") {
  const std::string key = testing::NewBase64Key();
  for (Algorithm alg : {Algorithm::kXChaCha20Poly1305, Algorithm::kAes256Gcm}) {
    Keyring ring = MakeRing(key, alg);
    for (std::size_t n = 0; n <= 400; ++n) {
      const std::string plaintext = PlaintextOfLength(n);
      auto value = ring.Encrypt(plaintext, kContext);
      REQUIRE(value.ok());
      REQUIRE(value->size() == CiphertextLength(n, alg));
      REQUIRE(crypto::ClassifyValue(*value) == crypto::ValueKind::kCiphertext);
      REQUIRE(value->rfind(std::string("cv1:") + static_cast<char>(alg) + ":" + ring.primary_kid() + ":", 0) == 0);
      auto back = ring.Decrypt(*value, kContext);
      REQUIRE(back.ok());
      REQUIRE(back->Equals(plaintext));
    }
  }
}

TEST_CASE("VARCHAR(512) holds 332 bytes with x and 344 with g, checked on real output", "[envelope]") {
  CHECK(MaxPlaintextLength(512, Algorithm::kXChaCha20Poly1305) == 332);
  CHECK(MaxPlaintextLength(512, Algorithm::kAes256Gcm) == 344);
  CHECK(MaxPlaintextLength(1024, Algorithm::kXChaCha20Poly1305) == 716);
  CHECK(MaxPlaintextLength(4096, Algorithm::kAes256Gcm) == 3032);
  CHECK(MaxPlaintextLength(10, Algorithm::kXChaCha20Poly1305) == 0);
  const std::string key = testing::NewBase64Key();
  for (auto [alg, max] : {std::pair{Algorithm::kXChaCha20Poly1305, 332}, std::pair{Algorithm::kAes256Gcm, 344}}) {
    Keyring ring = MakeRing(key, alg);
    CHECK(ring.Encrypt(PlaintextOfLength(max), kContext)->size() <= 512);
    CHECK(ring.Encrypt(PlaintextOfLength(max + 1), kContext)->size() > 512);
  }
}

TEST_CASE("the worked example of docs/FORMAT.md is reproduced exactly", "[envelope][format]") {
  const std::string key = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  auto ikm = ParseKeyMaterial(key);
  REQUIRE(ikm.ok());
  CHECK(*DeriveKid(*ikm) == "e2eb3ad8");
  std::uint8_t nonce[24];
  for (int i = 0; i < 24; ++i) nonce[i] = static_cast<std::uint8_t>(0x40 + i);
  const std::string x_key_hex = "3998e20e403492c2a40fc6fddf6d32428b4fd39ccd4ce9a8aae77966fe704960";
  const std::string g_key_hex = "72c7bb30681d7402c1b1c405a2e876e8b2e15bddab310418731238cf1c99473d";
  auto raw = [](const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
  };
  const std::string xk = raw(x_key_hex), gk = raw(g_key_hex);
  auto x = crypto::NewAead(Algorithm::kXChaCha20Poly1305, reinterpret_cast<const std::uint8_t*>(xk.data()));
  auto g = crypto::NewAead(Algorithm::kAes256Gcm, reinterpret_cast<const std::uint8_t*>(gk.data()));
  const std::string expected_x =
      "cv1:x:e2eb3ad8:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXNDqm8OFho03B5lV15LdyzQrn6eoMZn3U1x3rpfaOdUtN";
  const std::string expected_g = "cv1:g:e2eb3ad8:QEFCQ0RFRkdISUpLCeMveBz9GYr6jKO-wJuDo_tald0Kp_NX1CIcEu-3cvMc";
  CHECK(*crypto::SealEnvelope(*x, Algorithm::kXChaCha20Poly1305, "e2eb3ad8", nonce, "Atzr|IwEBIExample", kContext) ==
        expected_x);
  CHECK(*crypto::SealEnvelope(*g, Algorithm::kAes256Gcm, "e2eb3ad8", nonce, "Atzr|IwEBIExample", kContext) ==
        expected_g);
  // And the keyring (which derives its own AEAD keys) opens both.
  Keyring ring = MakeRing(key);
  CHECK(ring.Decrypt(expected_x, kContext)->Equals("Atzr|IwEBIExample"));
  CHECK(ring.Decrypt(expected_g, kContext)->Equals("Atzr|IwEBIExample"));
  const std::string format_md = testing::ReadFile(testing::SourceDir() + "/docs/FORMAT.md");
  CHECK(format_md.find(expected_x) != std::string::npos);
  CHECK(format_md.find(expected_g) != std::string::npos);
}

TEST_CASE("every single-byte change of header or payload is rejected", "[envelope]") {
  const std::string key = testing::NewBase64Key();
  for (Algorithm alg : {Algorithm::kXChaCha20Poly1305, Algorithm::kAes256Gcm}) {
    Keyring ring = MakeRing(key, alg);
    const std::string secret = "amzn1.oa2-cs.v1.0123456789abcdef";
    const std::string value = *ring.Encrypt(secret, kContext);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:=+/ gx";
    for (std::size_t i = 0; i < value.size(); ++i) {
      for (char replacement : alphabet) {
        if (replacement == value[i]) continue;
        std::string tampered = value;
        tampered[i] = replacement;
        auto result = ring.Decrypt(tampered, kContext);
        INFO("position " << i << " -> " << replacement);
        REQUIRE(!result.ok());
        CHECK(result.status().message().find(secret) == std::string::npos);
        CHECK(result.status().message().find(value.substr(15)) == std::string::npos);
      }
    }
  }
}

TEST_CASE("each kind of bad value has its own reason and a secret-free message", "[envelope]") {
  const std::string key = testing::NewBase64Key();
  Keyring ring = MakeRing(key);
  const std::string value = *ring.Encrypt("client-secret-value-xyz", kContext);
  const std::string kid = ring.primary_kid();
  const std::string payload = value.substr(15);

  std::set<std::string> reasons;
  auto expect = [&](const std::string& bad, const std::string& reason, const ValueContext& ctx = kContext) {
    INFO(reason);
    CHECK(Rejection(ring, bad, ctx) == reason);
    reasons.insert(reason);
  };
  expect(*ring.Encrypt("client-secret-value-xyz", {"credentials", "client_secret", "42"}), "auth_failed");
  expect(value, "auth_failed", {"credentials", "refresh_token", "43"});  // other account
  expect(value, "auth_failed", {"credentials", "client_id", "42"});      // other column
  expect(value, "auth_failed", {"accounts", "refresh_token", "42"});     // other table
  expect(value.substr(0, value.size() - 4), "auth_failed");             // truncated, still well-formed base64
  expect("cv1:x:" + kid + ":AAAA", "too_short");
  expect(*MakeRing(testing::NewBase64Key()).Encrypt("x", kContext), "unknown_kid");
  expect("cv1:x:" + kid + ":" + payload + "=", "padding");
  expect("cv1:x:" + kid + ":" + payload.substr(0, payload.size() - 1) + "!", "bad_base64");
  expect("cv1:x:" + kid + ":" + payload.substr(0, 10) + "+" + payload.substr(11), "bad_base64");
  std::string upper = kid;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != kid) expect("cv1:x:" + upper + ":" + payload, "bad_kid");
  expect("cv1:x:" + kid.substr(0, 7) + ":" + payload, "bad_kid");
  expect(value + ":extra", "bad_structure");
  expect("cv1:x:" + kid + ":" + payload + ":", "bad_structure");
  expect("cv1:y:" + kid + ":" + payload, "bad_algorithm");
  expect("cv1:xx:" + kid + ":" + payload, "bad_algorithm");
  expect("cv2:x:" + kid + ":" + payload, "bad_version");
  expect("Atzr|IwEBIA", "not_envelope");
  CHECK(reasons.size() >= 10);

  // A g value whose kid is known decrypts whatever the ring's default algorithm.
  Keyring gcm = MakeRing(key, Algorithm::kAes256Gcm);
  CHECK(ring.Decrypt(*gcm.Encrypt("abc", kContext), kContext)->Equals("abc"));
  // Wrong key with the same kid is impossible to build; a different key is unknown_kid.
  CHECK(Rejection(MakeRing(testing::NewBase64Key()), value) == "unknown_kid");
}

TEST_CASE("realistic plaintexts are never taken for ciphertext", "[envelope]") {
  for (const char* plaintext :
       {"Atzr|IwEBIEz0aHy0bO5s2XqH0hC7VeU2NT3KcN9oD8XkZV1Wm", "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef",
        "amzn1.oa2-cs.v1.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", "cv1", "cv1x:a:b:c",
        "CV1:x:0a1b2c3d:QEFC", "some:thing:with:colons"}) {
    INFO(plaintext);
    CHECK(crypto::ClassifyValue(plaintext) == crypto::ValueKind::kPlaintext);
  }
  CHECK(crypto::ClassifyValue("cv1:x:0a1b2c3d:not base64!") == crypto::ValueKind::kMalformedEnvelope);
  CHECK(crypto::ClassifyValue("cv1:") == crypto::ValueKind::kMalformedEnvelope);
}

TEST_CASE("PeekKid reads the kid ParseEnvelope reads and nothing from a header it refuses", "[envelope]") {
  Keyring ring = MakeRing(testing::NewBase64Key(), Algorithm::kAes256Gcm);
  const std::string value = *ring.Encrypt("a secret", kContext);
  CHECK(crypto::PeekKid(value) == ring.primary_kid());
  CHECK(crypto::PeekKid(value) == ParseEnvelope(value)->kid);
  CHECK(crypto::PeekKid("cv1:x:0a1b2c3d:not base64!") == "0a1b2c3d");  // the payload is not its business
  for (const char* refused : {"", "cv1:", "cv1:x:0A1B2C3D:QEFC", "cv1:z:0a1b2c3d:QEFC", "cv1:x:0a1b2c3:QEFC",
                              "cv1:x:0a1b2c3d:QE:FC", "cv2:x:0a1b2c3d:QEFC", "plaintext"}) {
    INFO(refused);
    CHECK(crypto::PeekKid(refused).empty());
  }
  CHECK(crypto::HasEnvelopePrefix(value));
  CHECK(crypto::IsOtherVersion("cv2:anything"));
  CHECK(crypto::IsOtherVersion("cv10:"));
  CHECK_FALSE(crypto::IsOtherVersion(value));
  CHECK_FALSE(crypto::IsOtherVersion("cv:x"));
  CHECK_FALSE(crypto::IsOtherVersion("cv2"));
}

TEST_CASE("base64url is strict and canonical", "[envelope]") {
  const std::uint8_t bytes[] = {0xfb, 0xff, 0x01};
  CHECK(crypto::Base64UrlEncode(bytes, 3) == "-_8B");
  CHECK(crypto::Base64UrlEncode(bytes, 2) == "-_8");
  CHECK(*crypto::Base64UrlDecode("-_8") == std::string("\xfb\xff", 2));
  CHECK(!crypto::Base64UrlDecode("-_9").ok());   // non-zero trailing bits
  CHECK(!crypto::Base64UrlDecode("-_8=").ok());  // padding
  CHECK(!crypto::Base64UrlDecode("+/8").ok());   // standard alphabet
  CHECK(!crypto::Base64UrlDecode("A").ok());     // impossible length
  CHECK(!crypto::Base64UrlDecode("AB C").ok());
}
