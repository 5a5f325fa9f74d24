// Key sources (exec:, file:, wrapped:), pkcs11: URIs and wrapped key files,
// without a database; wrapped: keys against a SoftHSM2 token.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "credvault/key_source.hpp"
#include "credvault/keyring.hpp"
#include "credvault/keyring_from_env.hpp"
#include "crypto/parsed_key_source.hpp"
#include "crypto/pkcs11_token.hpp"
#include "crypto/pkcs11_uri.hpp"
#include "crypto/wrapped_key.hpp"
#include "support/softhsm.hpp"
#include "support/test_support.hpp"

using namespace credvault;
using namespace credvault::testing;

namespace {

StatusOr<SecretBytes> Resolve(const std::string& text, const KeySourceOptions& options = {}) {
  return ResolveKeySource(SecretBytes::FromString(text), options);
}

std::string KidOf(const SecretBytes& key_text) {
  auto ikm = ParseKeyMaterial(key_text.view());
  REQUIRE(ikm.ok());
  auto kid = DeriveKid(*ikm);
  REQUIRE(kid.ok());
  return *kid;
}

KeySourceOptions HsmOptions(const std::string& pin) {
  const SoftHsm& hsm = SharedSoftHsm();
  KeySourceOptions options;
  options.pkcs11_module = hsm.module;
  options.pkcs11_pin = SecretBytes::FromString(pin);
  return options;
}

}  // namespace

TEST_CASE("key sources: the prefix names the source and anything else is the key itself", "[keysource]") {
  CHECK(crypto::ParseKeySource("base64:AAAA")->kind == crypto::KeySourceKind::kLiteral);
  CHECK(crypto::ParseKeySource("a phrase of at least thirty-two bytes, exec: inside")->kind == crypto::KeySourceKind::kLiteral);
  CHECK(crypto::ParseKeySource("a phrase of at least thirty-two bytes, exec: inside")->location.empty());
  auto exec = crypto::ParseKeySource("exec:vault kv get -field=key secret/credvault\n");
  REQUIRE(exec.ok());
  CHECK(exec->kind == crypto::KeySourceKind::kExec);
  CHECK(exec->location == "vault kv get -field=key secret/credvault");
  CHECK(crypto::DescribeKeySource(*exec) == "exec: command");  // never the command: it may carry a token
  CHECK(crypto::ParseKeySource("file:/etc/credvault/a.key")->kind == crypto::KeySourceKind::kFile);
  CHECK(crypto::ParseKeySource("wrapped:/etc/credvault/a.wrapped")->location == "/etc/credvault/a.wrapped");
  for (const char* empty : {"exec:", "file:", "wrapped:\n"}) {
    auto parsed = crypto::ParseKeySource(empty);
    CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("exec: the command stdout is the key with one trailing newline trimmed", "[keysource]") {
  const std::string key = NewBase64Key();
  TempDir dir;
  const std::string file = dir.WriteFile("k", key + "\n");
  auto resolved = Resolve("exec:cat '" + file + "'");
  REQUIRE(resolved.ok());
  CHECK(resolved->Equals(key));
  auto literal = Resolve(key);
  REQUIRE(literal.ok());
  CHECK(literal->Equals(key));
  // file: is a key file, with its permission check.
  auto from_file = Resolve("file:" + file);
  REQUIRE(from_file.ok());
  CHECK(KidOf(*from_file) == KidOf(*literal));
  chmod(file.c_str(), 0644);
  CHECK(Resolve("file:" + file).status().code() == StatusCode::kPermissionDenied);
}

TEST_CASE("exec: a failing command is an error quoting its stderr and never its stdout", "[keysource]") {
  auto failed = Resolve("exec:echo STDOUT-MUST-NOT-LEAK-0123456789abcdef; echo 'vault: permission denied' >&2; exit 3");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == StatusCode::kInvalidArgument);
  const std::string& message = failed.status().message();
  CHECK(message.find("exited with status 3") != std::string::npos);
  CHECK(message.find("vault: permission denied") != std::string::npos);
  CHECK(message.find("STDOUT-MUST-NOT-LEAK") == std::string::npos);

  auto nothing = Resolve("exec:true");
  CHECK(nothing.status().message().find("printed nothing") != std::string::npos);
}

TEST_CASE("exec: a command past its timeout is killed with its children", "[keysource]") {
  KeySourceOptions options;
  options.exec_timeout_seconds = 1;
  TempDir dir;
  const std::string marker = dir.path() + "/survived";
  const auto start = std::chrono::steady_clock::now();
  auto slow = Resolve("exec:(sleep 1.5; touch '" + marker + "') & sleep 30", options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.status().message().find("did not finish within 1 s") != std::string::npos);
  CHECK(seconds < 2.5);
  usleep(1200 * 1000);  // past the 1.5 s at which the child would have touched it
  CHECK_FALSE(std::ifstream(marker).good());  // the background child was killed too
}

TEST_CASE("exec: the command inherits neither SECRET_KEY nor the PKCS#11 PIN", "[keysource]") {
  setenv("SECRET_KEY", "parent-secret-key-value-0123456789abcdef", 1);
  setenv("CREDVAULT_PKCS11_PIN", "parent-pin", 1);
  auto seen = Resolve("exec:printf '%s|%s|padding-to-thirty-two-bytes' \"${SECRET_KEY:-none}\" \"${CREDVAULT_PKCS11_PIN:-none}\"");
  unsetenv("SECRET_KEY");
  unsetenv("CREDVAULT_PKCS11_PIN");
  REQUIRE(seen.ok());
  CHECK(seen->view() == "none|none|padding-to-thirty-two-bytes");
}

TEST_CASE("KeyringFromEnvironment resolves key sources in SECRET_KEY and SECRET_KEY_FALLBACKS", "[keysource]") {
  const std::string a = NewBase64Key(), b = NewBase64Key();
  TempDir dir;
  const std::string file_a = dir.WriteFile("a.key", a + "\n");
  setenv("SECRET_KEY", ("exec:cat '" + file_a + "'").c_str(), 1);
  setenv("SECRET_KEY_FALLBACKS", (b + ",file:" + file_a).c_str(), 1);
  auto duplicate = KeyringFromEnvironment();  // a listed twice, through two sources: one kid twice
  CHECK(duplicate.status().code() == StatusCode::kInvalidArgument);
  setenv("SECRET_KEY_FALLBACKS", b.c_str(), 1);
  auto ring = KeyringFromEnvironment();
  setenv("SECRET_KEY", "exec:exit 9", 1);
  auto failed = KeyringFromEnvironment();
  unsetenv("SECRET_KEY");
  unsetenv("SECRET_KEY_FALLBACKS");
  REQUIRE(ring.ok());
  CHECK(ring->primary_kid() == MakeKeyring(a).primary_kid());
  CHECK(ring->HasKid(MakeKeyring(b).primary_kid()));
  CHECK(failed.status().message().find("environment variable SECRET_KEY") != std::string::npos);
}

TEST_CASE("pkcs11: URIs name a token and a key and never carry a PIN", "[keysource]") {
  auto uri = crypto::ParsePkcs11Uri("pkcs11:token=my%20token;object=kek-2026;type=secret-key?module-path=/usr/lib/x.so&pin-source=file:/etc/pin");
  REQUIRE(uri.ok());
  CHECK(uri->token == "my token");
  CHECK(uri->object == "kek-2026");
  CHECK(uri->module_path == "/usr/lib/x.so");
  CHECK(uri->pin_source == "file:/etc/pin");
  CHECK(crypto::ParsePkcs11Uri(crypto::FormatPkcs11Uri(*uri))->token == "my token");

  auto with_pin = crypto::ParsePkcs11Uri("pkcs11:token=t;object=k?pin-value=SECRETPIN");
  REQUIRE_FALSE(with_pin.ok());
  CHECK(with_pin.status().message().find("SECRETPIN") == std::string::npos);
  CHECK(with_pin.status().message().find("pin-source") != std::string::npos);
  for (const char* bad : {"token=t;object=k", "pkcs11:object=k", "pkcs11:token=t", "pkcs11:token=t;object=k;object=j",
                          "pkcs11:token=t;object=k%2", "pkcs11:token=t;object=k%zz", "pkcs11:token=t;object=k;type=private",
                          "pkcs11:token=t;object=k;slot=1", "pkcs11:token=t;object=k?module-name=softhsm2"}) {
    INFO(bad);
    CHECK(crypto::ParsePkcs11Uri(bad).status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("wrapped key files: the format round-trips and anything else is refused", "[keysource]") {
  crypto::WrappedKeyFile file{"0a1b2c3d", "pkcs11:token=t;object=k", crypto::kWrapMechanism, std::string("\x01\x02\xff", 3)};
  auto parsed = crypto::ParseWrappedKeyFile(crypto::FormatWrappedKeyFile(file));
  REQUIRE(parsed.ok());
  CHECK(parsed->wrapped == file.wrapped);
  CHECK(parsed->kid == "0a1b2c3d");
  const std::string good = crypto::FormatWrappedKeyFile(file);
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  for (const std::string& bad : {replace("CKM_AES_KEY_WRAP_PAD", "CKM_DES3_ECB"), replace("credvault-wrapped-key: 1", "x: 1"),
                                 replace("wrapped: ", "wrapped: !!"), replace("kid: 0a1b2c3d", "kid: XYZ"),
                                 replace("pkcs11:token=t", "pkcs11:token=t?pin-value=1")}) {
    CHECK_FALSE(crypto::ParseWrappedKeyFile(bad).ok());
  }
}

TEST_CASE("wrapped: a data key wrapped in SoftHSM unwraps to the same kid and rewraps under a new KEK", "[keysource][hsm]") {
  const SoftHsm& hsm = SharedSoftHsm();
  TempDir dir;
  const std::string path = dir.path() + "/a.wrapped";
  auto kid = crypto::CreateWrappedKeyFile(path, hsm.Uri("kek-a"), HsmOptions(hsm.pin));
  REQUIRE(kid.ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string text = ReadFile(path);
  CHECK(text.find("kek: " + hsm.Uri("kek-a")) != std::string::npos);
  CHECK(text.find(hsm.pin) == std::string::npos);

  auto key = Resolve("wrapped:" + path, HsmOptions(hsm.pin));
  REQUIRE(key.ok());
  CHECK(KidOf(*key) == *kid);
  CHECK(crypto::CreateWrappedKeyFile(path, hsm.Uri("kek-a"), HsmOptions(hsm.pin)).status().code() ==
        StatusCode::kAlreadyExists);

  auto wrong_pin = Resolve("wrapped:" + path, HsmOptions("0000-wrong"));
  CHECK(wrong_pin.status().code() == StatusCode::kPermissionDenied);
  CHECK(wrong_pin.status().message().find("0000-wrong") == std::string::npos);
  CHECK(Resolve("wrapped:" + path, KeySourceOptions()).status().code() == StatusCode::kNotFound);  // no module

  auto rewrapped = crypto::RewrapKeyFile(path, hsm.Uri("kek-b"), HsmOptions(hsm.pin));
  REQUIRE(rewrapped.ok());
  CHECK(*rewrapped == *kid);
  CHECK(ReadFile(path).find("object=kek-b") != std::string::npos);
  CHECK(ReadFile(path) != text);
  auto again = Resolve("wrapped:" + path, HsmOptions(hsm.pin));
  REQUIRE(again.ok());
  CHECK(KidOf(*again) == *kid);
  CHECK(crypto::RewrapKeyFile(path, hsm.Uri("no-such-kek"), HsmOptions(hsm.pin)).status().code() ==
        StatusCode::kNotFound);
  CHECK(ReadFile(path).find("object=kek-b") != std::string::npos);  // unchanged by the failed rewrap
}
