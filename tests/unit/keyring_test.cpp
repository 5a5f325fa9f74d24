// Keys: parsing, kid derivation, the ring, key files, nonces, zeroization.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include <cstring>
#include <set>

#include "credvault/keyring.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/key_file.hpp"
#include "crypto/nonce.hpp"
#include "crypto/secret_release_hook.hpp"
#include "support/test_support.hpp"

using namespace credvault;

namespace {

KeySpec Spec(const std::string& text, const std::string& source = "test") {
  return KeySpec{SecretBytes::FromString(text), source};
}

// Fallback specs (KeySpec is move-only, so no initializer lists).
std::vector<KeySpec> Fallbacks(const std::vector<std::pair<std::string, std::string>>& keys) {
  std::vector<KeySpec> out;
  for (const auto& [text, source] : keys) out.push_back(Spec(text, source));
  return out;
}

const ValueContext kContext{"credentials", "client_secret", "7"};

}  // namespace

TEST_CASE("key text parsing: base64 keys and long strings - weak keys refused", "[keys]") {
  const std::string b64 = testing::NewBase64Key();
  auto ikm = ParseKeyMaterial(b64);
  REQUIRE(ikm.ok());
  CHECK(ikm->size() == 32);
  CHECK(ParseKeyMaterial(b64 + "\n")->Equals(*ikm));
  CHECK(ParseKeyMaterial(b64 + "\r\n")->Equals(*ikm));

  const std::string phrase = "an-existing-SECRET_KEY-of-32-byt";
  REQUIRE(phrase.size() == 32);
  CHECK(ParseKeyMaterial(phrase)->Equals(phrase));
  CHECK(ParseKeyMaterial(phrase.substr(0, 31)).status().reason() == "weak_key");
  CHECK(ParseKeyMaterial("").status().reason() == "weak_key");
  CHECK(ParseKeyMaterial("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==").status().reason() == "weak_key");  // 31 bytes
  CHECK(ParseKeyMaterial("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g").status().reason() == "weak_key");  // 33 bytes
  CHECK(!ParseKeyMaterial("base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").ok());  // padding missing
  CHECK(!ParseKeyMaterial("base64:not base64 at all, not even close!!!!!!").ok());
  CHECK(ParseKeyMaterial(std::string(40, 'a') + "\xff").status().reason() == "bad_key");
  CHECK(ParseKeyMaterial(std::string(40, 'a') + "\xc3\xa9").ok());  // é is fine
  auto error = ParseKeyMaterial("weak-key-value");
  CHECK(error.status().message().find("weak-key-value") == std::string::npos);
}

TEST_CASE("kid = hex(HKDF-SHA256(salt=credvault.v1, ikm, info=credvault kid, 4))", "[keys]") {
  const std::string key = testing::NewBase64Key();
  auto ikm = ParseKeyMaterial(key);
  REQUIRE(ikm.ok());
  // Independent computation: RFC 5869 with one HMAC round via libsodium.
  unsigned char prk[32], okm[32];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>("credvault.v1"), 12);
  crypto_auth_hmacsha256_update(&state, ikm->data(), ikm->size());
  crypto_auth_hmacsha256_final(&state, prk);
  const std::string info = std::string("credvault kid") + '\x01';
  crypto_auth_hmacsha256_init(&state, prk, sizeof prk);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(info.data()), info.size());
  crypto_auth_hmacsha256_final(&state, okm);
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, okm, 4);
  CHECK(*DeriveKid(*ikm) == hex);
  CHECK(*DeriveKid(*ikm) == *DeriveKid(*ParseKeyMaterial(key)));
  CHECK(*DeriveKid(*ikm) != *DeriveKid(*ParseKeyMaterial(testing::NewBase64Key())));
}

TEST_CASE("DeriveKid refuses empty key material instead of returning an empty kid", "[keyring]") {
  auto kid = DeriveKid(SecretBytes());
  REQUIRE_FALSE(kid.ok());
  CHECK(kid.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("keyring: primary encrypts, fallbacks decrypt, duplicates refused", "[keys]") {
  const std::string a = testing::NewBase64Key(), b = testing::NewBase64Key();
  auto old_ring = Keyring::Create(Spec(a, "file a.key"), {});
  REQUIRE(old_ring.ok());
  const std::string under_a = *old_ring->Encrypt("secret", kContext);

  auto ring = Keyring::Create(Spec(b, "file b.key"), Fallbacks({{a, "file a.key"}}));
  REQUIRE(ring.ok());
  CHECK(ring->keys().size() == 2);
  CHECK(ring->keys()[0].primary);
  CHECK(ring->keys()[0].source == "file b.key");
  CHECK(!ring->keys()[1].primary);
  CHECK(ring->HasKid(old_ring->primary_kid()));
  CHECK(ring->Decrypt(under_a, kContext)->Equals("secret"));
  const std::string under_b = *ring->Encrypt("secret", kContext);
  CHECK(under_b.find(":" + ring->primary_kid() + ":") != std::string::npos);
  CHECK(ring->primary_kid() != old_ring->primary_kid());

  auto b_only = Keyring::Create(Spec(b), {});
  auto unknown = b_only->Decrypt(under_a, kContext);
  CHECK(unknown.status().reason() == "unknown_kid");
  CHECK(unknown.status().code() == StatusCode::kNotFound);
  CHECK(unknown.status().message().find(old_ring->primary_kid()) != std::string::npos);

  auto duplicate = Keyring::Create(Spec(a, "env SECRET_KEY"), Fallbacks({{b, "test"}, {a, "file old.key"}}));
  REQUIRE(!duplicate.ok());
  CHECK(duplicate.status().reason() == "duplicate_kid");
  CHECK(duplicate.status().message().find("file old.key") != std::string::npos);
  CHECK(duplicate.status().message().find("env SECRET_KEY") != std::string::npos);

  auto weak = Keyring::Create(Spec(a), Fallbacks({{"short", "SECRET_KEY_FALLBACKS entry 1"}}));
  REQUIRE(!weak.ok());
  CHECK(weak.status().message().find("SECRET_KEY_FALLBACKS entry 1") != std::string::npos);
}

TEST_CASE("nonces never repeat and come from buffered randomness", "[keys]") {
  std::set<std::string> seen;
  std::uint8_t nonce[24];
  for (int i = 0; i < 100000; ++i) {
    crypto::FillRandomNonce(nonce, sizeof nonce);
    REQUIRE(seen.insert(std::string(reinterpret_cast<char*>(nonce), sizeof nonce)).second);
  }
  // A forked child does not replay the parent's buffered bytes.
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  std::uint8_t parent_next[24];
  pid_t pid = fork();
  if (pid == 0) {
    std::uint8_t child[24];
    crypto::FillRandomNonce(child, sizeof child);
    (void)!write(pipe_fds[1], child, sizeof child);
    _exit(0);
  }
  crypto::FillRandomNonce(parent_next, sizeof parent_next);
  std::uint8_t child_nonce[24];
  REQUIRE(read(pipe_fds[0], child_nonce, sizeof child_nonce) == 24);
  waitpid(pid, nullptr, 0);
  CHECK(std::memcmp(child_nonce, parent_next, 24) != 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

namespace {
bool g_saw_nonzero_release = false;
std::size_t g_released_bytes = 0;
void InspectRelease(const std::uint8_t* data, std::size_t size) {
  g_released_bytes += size;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != 0) g_saw_nonzero_release = true;
  }
}
}  // namespace

TEST_CASE("SecretBytes zeroizes before release and is not copyable", "[keys][secret]") {
  static_assert(!std::is_copy_constructible_v<SecretBytes>);
  static_assert(!std::is_copy_assignable_v<SecretBytes>);
  g_saw_nonzero_release = false;
  g_released_bytes = 0;
  crypto::SetSecretReleaseHookForTesting(&InspectRelease);
  {
    SecretBytes secret = SecretBytes::FromString("Atzr|very-secret-refresh-token");
    SecretBytes moved = std::move(secret);
    CHECK(secret.empty());
    CHECK(moved.Equals("Atzr|very-secret-refresh-token"));
    auto ring = Keyring::Create(Spec(testing::NewBase64Key()), {});
    auto plain = ring->Decrypt(*ring->Encrypt("plaintext-under-test", kContext), kContext);
    CHECK(plain->Equals("plaintext-under-test"));
  }
  crypto::SetSecretReleaseHookForTesting(nullptr);
  CHECK(g_released_bytes >= 30 + 20);
  CHECK(!g_saw_nonzero_release);
}

TEST_CASE("key files: 0600 required, created 0600, never overwritten", "[keys][files]") {
  testing::TempDir dir;
  const std::string key = testing::NewBase64Key();
  for (int mode : {0644, 0640, 0604, 0620, 0660}) {
    INFO(mode);
    auto path = dir.WriteFile("k" + std::to_string(mode), key, mode);
    auto read = crypto::ReadKeyFile(path);
    CHECK(read.status().code() == StatusCode::kPermissionDenied);
    CHECK(read.status().message().find("chmod 600") != std::string::npos);
  }
  CHECK(crypto::ReadKeyFile(dir.WriteFile("ok", key, 0600))->Equals(key));
  CHECK(crypto::ReadKeyFile(dir.WriteFile("ro", key, 0400))->Equals(key));
  CHECK(crypto::ReadKeyFile(dir.path() + "/missing").status().code() == StatusCode::kNotFound);
  CHECK(crypto::ReadKeyFile(dir.path()).status().code() == StatusCode::kPermissionDenied);

  const std::string path = dir.path() + "/new.key";
  SecretBytes generated = GenerateKeyText();
  REQUIRE(crypto::WriteNewKeyFile(path, generated).ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(crypto::WriteNewKeyFile(path, GenerateKeyText()).code() == StatusCode::kAlreadyExists);
  auto reread = crypto::ReadKeyFile(path);
  REQUIRE(reread.ok());
  CHECK(ParseKeyMaterial(reread->view())->Equals(*ParseKeyMaterial(generated.view())));
}
